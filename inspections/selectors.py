"""Read paths of inspections/ (tenant-scoped through the default managers)."""

import base64
import datetime as dt
import io

from django.db.models import Count, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import get_objects_for_user

from certification.access import has_object_grant
from certification.selectors import audit_trail
from inspections.models import ConflictOfInterest, Finding, InspectorProfile, Qualification, Visit

OPEN_STATES = [Visit.State.PLANNED, Visit.State.ASSIGNED, Visit.State.IN_PROGRESS]


def sniff_image(head: bytes):
    """The image type from the file's first bytes (never from its name or the client's claim)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return None


def licence_category_ids(licence):
    """Product categories an inspector must be qualified for: the licence's products', else its regulation's."""
    ids = set(licence.products.values_list("category_id", flat=True))
    if not ids:
        ids = set(licence.regulation_version.regulation.categories.values_list("id", flat=True))
    return ids


def assignment_problems(visit, user, day=None):
    """Why ``user`` may not inspect ``visit`` (empty list: they may)."""
    day = day or visit.planned_for
    profile = InspectorProfile.objects.filter(user=user, is_active=True).first()
    if profile is None:
        return [_("Not an active inspector of this body.")]
    from certification.models import Membership, Role

    if not Membership.objects.filter(user=user, role=Role.INSPECTOR, is_active=True).exists():
        return [_("Does not hold the inspector role.")]
    problems = []
    needed = licence_category_ids(visit.licence)
    valid = set(
        Qualification.objects.filter(profile=profile, valid_from__lte=day)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=day))
        .values_list("category_id", flat=True)
    )
    if not needed:
        problems.append(_("The licence has no product category to qualify for."))
    elif not needed <= valid:
        problems.append(_("Not qualified on %(day)s for every product category of the licence.")
                        % {"day": f"{day:%Y-%m-%d}"})
    if conflicts_with(profile, visit.licence.holder_id, day):
        problems.append(_("Has declared a conflict of interest with this licence-holder."))
    return problems


def conflicts_with(profile, holder_id, day):
    return ConflictOfInterest.objects.filter(profile=profile, holder_id=holder_id, declared_on__lte=day).filter(
        Q(ended_on__isnull=True) | Q(ended_on__gte=day)).exists()


def inspector_visits(user):
    """The visits this inspector holds an object grant on, and nothing else; never a cancelled one (cancelling
    revokes the grant; the state filter keeps it so should a grant ever survive)."""
    return get_objects_for_user(user, "inspections.change_visit", klass=Visit.objects.all(),
                                accept_global_perms=False, with_superuser=False).exclude(
        state=Visit.State.CANCELLED).select_related("licence__holder", "site", "licence__mark")


CHANGEABLE_STATES = (Visit.State.PLANNED, Visit.State.ASSIGNED)  # may be assigned, rescheduled, cancelled


def staff_visits(*, state="", include_cancelled=False, planned_from=None, planned_until=None):
    """The body's visits for the staff list. Cancelled visits are left out unless ``include_cancelled`` or
    ``state="cancelled"`` asks for them."""
    visits = Visit.objects.select_related("licence__holder", "site", "inspector")
    if state:
        visits = visits.filter(state=state)
    elif not include_cancelled:
        visits = visits.exclude(state=Visit.State.CANCELLED)
    if planned_from:
        visits = visits.filter(planned_for__gte=planned_from)
    if planned_until:
        visits = visits.filter(planned_for__lte=planned_until)
    return visits.order_by("planned_for", "id")


def visit_history(visit, limit=50):
    """The visit's audit events, newest first (who assigned, rescheduled or cancelled it, and why)."""
    return list(audit_trail(visit)[:limit])


def visit_for_inspector(user, pk):
    """Same 404 for "no such visit" and "not assigned to you"."""
    visit = Visit.objects.select_related("licence__holder", "licence__mark", "licence__regulation_version__regulation",
                                         "site", "inspector", "body").filter(pk=pk).first()
    if visit is None or not has_object_grant(user, "inspections.change_visit", visit):
        raise Http404
    return visit


def visit_samples(visit):
    """Samples taken at the visit, if the sampling app provides them (reverse relation ``samples``); else None."""
    for relation in visit._meta.related_objects:
        if relation.related_model.__name__ == "Sample" and relation.one_to_many:
            return list(getattr(visit, relation.get_accessor_name()).all())
    return None


REPORT_PHOTO_MAX_PIXELS = 1200


def report_photos(visit):
    """The visit's complete photos as (photo, data URL) for the report PDF, scaled down to at most
    1200 px and re-encoded as JPEG, so a report with many phone photos stays a few MB. A photo that cannot
    be read or decoded is left out (the rest of the report is what matters)."""
    from PIL import Image, UnidentifiedImageError

    photos = []
    for photo in visit.photos.filter(complete=True).order_by("created_at", "id"):
        try:
            with photo.file.open("rb") as handle, Image.open(handle) as image:
                image.thumbnail((REPORT_PHOTO_MAX_PIXELS, REPORT_PHOTO_MAX_PIXELS))
                out = io.BytesIO()
                image.convert("RGB").save(out, "JPEG", quality=80)
        except (OSError, UnidentifiedImageError, Image.DecompressionBombError):
            continue
        photos.append((photo, "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode()))
    return photos


def signature_data_url(visit):
    if not visit.signature:
        return ""
    try:
        with visit.signature.open("rb") as handle:
            raw = handle.read()
    except OSError:
        return ""
    if sniff_image(raw[:16]) != "image/png":
        return ""
    return "data:image/png;base64," + base64.b64encode(raw).decode()


def visit_state_payload(visit):
    """What the inspector's device needs to show (and to show a conflict against)."""
    return {
        "id": visit.pk,
        "state": visit.state,
        "row_version": visit.row_version,
        "general_remarks": visit.general_remarks,
        "signed_by_name": visit.signed_by_name,
        "signed": bool(visit.signature),
        "checklist": {str(r.item_id): {"result": r.result, "remark": r.remark}
                      for r in visit.checklist_results.all()},
        "findings": [{"id": f.pk, "severity": f.severity, "description": f.description,
                      "checklist_item": f.checklist_item_id} for f in visit.findings.all()],
        "photos": [{"id": p.pk, "filename": p.filename, "complete": p.complete, "received": p.received,
                    "size": p.size} for p in visit.photos.all()],
    }


def dashboard(today=None):
    today = today or timezone.localdate()
    horizon = today + dt.timedelta(days=30)
    visits = Visit.objects.select_related("licence__holder", "site", "inspector")
    due = visits.filter(state__in=OPEN_STATES, planned_for__gte=today, planned_for__lte=horizon)
    overdue = visits.filter(Q(overdue=True) | Q(planned_for__lt=today, state__in=[Visit.State.PLANNED,
                                                                                   Visit.State.ASSIGNED]))
    per_inspector = (
        Visit.objects.filter(state__in=OPEN_STATES + [Visit.State.SUBMITTED])
        .values("inspector__email", "inspector__full_name")
        .annotate(total=Count("id"), overdue=Count("id", filter=Q(planned_for__lt=today)),
                  submitted=Count("id", filter=Q(state=Visit.State.SUBMITTED)))
        .order_by("inspector__email")
    )
    open_findings = Finding.objects.exclude(state=Finding.State.VERIFIED).select_related(
        "visit__licence__holder").order_by("action_due", "id")
    return {
        "due": due[:200], "overdue": overdue[:200], "per_inspector": list(per_inspector),
        "open_findings": open_findings[:200], "to_review": visits.filter(state=Visit.State.SUBMITTED)[:200],
        "today": today, "horizon": horizon,
    }
