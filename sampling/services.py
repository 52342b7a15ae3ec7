"""Write paths of sampling/: one audited transaction per business action."""

from django.db import transaction

from certification import audit
from certification.services import get_or_create_user
from sampling.models import Laboratory, LaboratoryMembership


@transaction.atomic
def do_recognise_laboratory(*, body, name, **fields):
    laboratory = Laboratory.objects.create(body=body, name=name, **fields)
    audit.record("laboratory.recognise", laboratory, after=audit.snapshot(laboratory))
    return laboratory


@transaction.atomic
def do_add_lab_user(*, laboratory, email, full_name="", password=None):
    user = get_or_create_user(email, full_name, password)
    membership = LaboratoryMembership.objects.create(body=laboratory.body, laboratory=laboratory, user=user)
    audit.record("laboratory.user_add", membership, after=audit.snapshot(membership))
    return membership
