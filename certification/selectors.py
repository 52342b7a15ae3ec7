"""Read paths of the project package: who a user is in which body, and the audit trail."""

from dataclasses import dataclass

from certification import tenancy
from certification.models import AuditEvent, Membership


@dataclass
class Roles:
    membership: object = None
    holder_membership: object = None
    lab_membership: object = None
    body: object = None
    scope: tenancy.Scope | None = None


def resolve_roles(user, preferred_body=None) -> Roles:
    """A user's place: staff of a body, a licence-holder's portal user, or a laboratory user."""
    from licences.models import HolderMembership
    from sampling.models import LaboratoryMembership

    if not getattr(user, "is_authenticated", False):
        return Roles()
    with tenancy.scopes_disabled("resolve roles"):
        memberships = list(
            Membership.objects.select_related("body").filter(user=user, is_active=True, body__is_active=True)
            .order_by("body__name")
        )
        if memberships:
            chosen = next((m for m in memberships if m.body_id == preferred_body), memberships[0])
            return Roles(membership=chosen, body=chosen.body, scope=tenancy.Scope(body=chosen.body_id))
        holder_membership = (
            HolderMembership.objects.select_related("holder", "body")
            .filter(user=user, is_active=True, body__is_active=True).first()
        )
        if holder_membership:
            return Roles(holder_membership=holder_membership, body=holder_membership.body,
                         scope=tenancy.Scope(body=holder_membership.body_id, holder=holder_membership.holder_id))
        lab_membership = (
            LaboratoryMembership.objects.select_related("laboratory", "body")
            .filter(user=user, is_active=True, body__is_active=True).first()
        )
        if lab_membership:
            return Roles(lab_membership=lab_membership, body=lab_membership.body,
                         scope=tenancy.Scope(body=lab_membership.body_id, laboratory=lab_membership.laboratory_id))
    return Roles()


def memberships_of(user):
    with tenancy.scopes_disabled("list own memberships"):
        return list(Membership.objects.select_related("body").filter(user=user, is_active=True))


def audit_trail(obj=None):
    events = AuditEvent.objects.select_related("object_type", "actor")
    if obj is not None:
        from django.contrib.contenttypes.models import ContentType

        events = events.filter(object_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk))
    return events
