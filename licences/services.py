"""Write paths of licences/: one audited transaction per business action."""

from django.db import transaction

from certification import audit
from certification.services import get_or_create_user
from certification.validators import normalize_company_number
from licences.models import HolderMembership, LicenceHolder


@transaction.atomic
def do_register_holder(*, body, name, company_number, **fields):
    holder = LicenceHolder(body=body, name=name, company_number=normalize_company_number(company_number), **fields)
    holder.full_clean()
    holder.save()
    audit.record("holder.register", holder, after=audit.snapshot(holder))
    return holder


@transaction.atomic
def do_update_holder(*, holder, changes, reason=""):
    holder = LicenceHolder.objects.select_for_update().get(pk=holder.pk)
    before = audit.snapshot(holder)
    if "company_number" in changes:
        changes["company_number"] = normalize_company_number(changes["company_number"])
    for field, value in changes.items():
        setattr(holder, field, value)
    holder.full_clean()
    holder.save()
    audit.record("holder.update", holder, before=before, after=audit.snapshot(holder), reason=reason)
    return holder


@transaction.atomic
def do_add_holder_user(*, holder, email, role=HolderMembership.Role.CONTRIBUTOR, full_name="", password=None):
    user = get_or_create_user(email, full_name, password)
    membership = HolderMembership.objects.create(body=holder.body, holder=holder, user=user, role=role)
    audit.record("holder.user_add", membership, after=audit.snapshot(membership))
    return membership
