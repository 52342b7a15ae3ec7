"""Write paths of the project package: bodies and staff memberships. Each is one audited transaction."""

from django.db import transaction

from certification import audit
from certification.models import CertificationBody, Membership, Role, User
from certification.tenancy import scopes_disabled, tenant_scope


def get_or_create_user(email, full_name="", password=None):
    email = email.strip().lower()
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=password, full_name=full_name)
    return user


@transaction.atomic
def do_create_body(*, code, name, **fields):
    with scopes_disabled("create body"):
        body = CertificationBody.objects.create(code=code, name=name, **fields)
        audit.record("body.create", body, after=audit.snapshot(body), body=body)
    return body


@transaction.atomic
def do_add_member(*, body, email, role, full_name="", password=None):
    """Give a person a back-office role in ``body`` (creating their account if needed)."""
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}")
    user = get_or_create_user(email, full_name, password)
    with tenant_scope(body):
        membership, created = Membership.objects.get_or_create(body=body, user=user, defaults={"role": role})
        if not created:
            before = audit.snapshot(membership)
            membership.role, membership.is_active = role, True
            membership.save(update_fields=["role", "is_active"])
            audit.record("membership.update", membership, before=before, after=audit.snapshot(membership))
        else:
            audit.record("membership.create", membership, after=audit.snapshot(membership))
    return membership


@transaction.atomic
def do_change_role(*, membership, role, is_active=True, reason=""):
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}")
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    before = audit.snapshot(membership)
    membership.role, membership.is_active = role, is_active
    membership.save(update_fields=["role", "is_active"])
    audit.record("membership.update", membership, before=before, after=audit.snapshot(membership), reason=reason)
    return membership
