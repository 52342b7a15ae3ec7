"""Write paths of inspections/: one audited transaction per business action."""

import base64
import binascii
import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from guardian.shortcuts import assign_perm, remove_perm

from certification import audit, events
from certification.documents import render_pdf, sha256
from inspections import selectors
from inspections.models import (
    ChecklistResult,
    ConflictOfInterest,
    CorrectiveAction,
    Finding,
    InspectorProfile,
    Photo,
    Qualification,
    ReportComment,
    Visit,
)

VISIT_PERMS = ("view_visit", "change_visit")
COMMENT_WORKING_DAYS = 5
ACTION_DUE_DAYS = {Finding.Severity.MINOR: 90, Finding.Severity.MAJOR: 30}
PHOTO_MAX_BYTES = settings.INSPECTION_PHOTO_MAX_BYTES
SIGNATURE_MAX_BYTES = 512 * 1024


class TransitionError(ValidationError):
    """The visit is not in a state that allows this action."""


class StaleVersion(Exception):
    """The client edited an older version of the visit than the one stored."""

    def __init__(self, visit):
        super().__init__("stale version")
        self.visit = visit


def add_working_days(day, n):
    """``day`` plus ``n`` working days (Monday to Friday)."""
    while n > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


def _lock(visit, expected_version=None):
    locked = Visit.objects.select_for_update().get(pk=visit.pk)
    if expected_version is not None and int(expected_version) != locked.row_version:
        raise StaleVersion(locked)
    return locked


def _bump(visit, fields):
    visit.row_version += 1
    visit.save(update_fields=[*fields, "row_version"])


def _require_state(visit, *states):
    if visit.state not in states:
        needed = [str(Visit.State(s).label).lower() for s in states]
        while len(needed) > 1:  # "planned or assigned"
            needed[-2:] = [_("%(first)s or %(second)s") % {"first": needed[-2], "second": needed[-1]}]
        raise TransitionError(_("Visit is %(state)s; this action needs %(needed)s.")
                              % {"state": visit.get_state_display().lower(), "needed": needed[0]})


# --- inspectors ------------------------------------------------------------------------------


@transaction.atomic
def do_create_inspector_profile(*, body, user, capacity_per_year=200, notes=""):
    profile, created = InspectorProfile.objects.get_or_create(
        body=body, user=user, defaults={"capacity_per_year": capacity_per_year, "notes": notes})
    if created:
        audit.record("inspector.profile_create", profile, after=audit.snapshot(profile))
    return profile


@transaction.atomic
def do_add_qualification(*, profile, category, valid_from, valid_until=None):
    if valid_until is not None and valid_until < valid_from:
        raise ValidationError({"valid_until": _("Must not be before the start of validity.")})
    qualification = Qualification.objects.create(body=profile.body, profile=profile, category=category,
                                                 valid_from=valid_from, valid_until=valid_until)
    audit.record("inspector.qualification_add", qualification, after=audit.snapshot(qualification))
    return qualification


@transaction.atomic
def do_declare_conflict(*, profile, holder, reason, declared_on=None):
    conflict = ConflictOfInterest.objects.create(body=profile.body, profile=profile, holder=holder, reason=reason,
                                                 declared_on=declared_on or timezone.localdate())
    audit.record("inspector.conflict_declare", conflict, after=audit.snapshot(conflict))
    return conflict


# --- visit transitions ----------------------------------------------------------------------


@transaction.atomic
def do_create_visit(*, licence, kind, planned_for, announced=True, reason=""):
    """A visit outside the annual plan: follow-up of a finding, complaint, extra unannounced visit…"""
    if kind not in Visit.Kind.values:
        raise ValidationError({"kind": _("Unknown kind of visit.")})
    if kind == Visit.Kind.UNANNOUNCED:
        announced = False
    visit = Visit.objects.create(body=licence.body, licence=licence, site=licence.site, kind=kind,
                                 planned_for=planned_for, announced=announced)
    audit.record("visit.create", visit, after=audit.snapshot(visit), reason=reason)
    return visit


def _grant(user, visit):
    for perm in VISIT_PERMS:
        assign_perm(f"inspections.{perm}", user, visit)


def _revoke(user, visit):
    for perm in VISIT_PERMS:
        remove_perm(f"inspections.{perm}", user, visit)


@transaction.atomic
def do_assign(*, visit, inspector, reason="", expected_version=None):
    """Give the visit to a qualified inspector without a conflict; moves object rights with it."""
    visit = _lock(visit, expected_version)
    _require_state(visit, Visit.State.PLANNED, Visit.State.ASSIGNED)
    problems = selectors.assignment_problems(visit, inspector)
    if problems:
        raise ValidationError({"inspector": problems})
    before = audit.snapshot(visit)
    previous = visit.inspector
    if previous is not None and previous.pk != inspector.pk:
        _revoke(previous, visit)
    visit.inspector = inspector
    visit.state = Visit.State.ASSIGNED
    _bump(visit, ["inspector", "state"])
    _grant(inspector, visit)
    audit.record("visit.assign", visit, before=before, after=audit.snapshot(visit), reason=reason)
    return visit


@transaction.atomic
def do_reschedule(*, visit, planned_for, reason="", expected_version=None):
    """Move a visit not yet started to another day. An assigned inspector must still be eligible on that day
    (qualified for every product category then, no conflict of interest in force): else nothing changes."""
    visit = _lock(visit, expected_version)
    _require_state(visit, Visit.State.PLANNED, Visit.State.ASSIGNED)
    if planned_for == visit.planned_for:
        return visit
    if visit.inspector is not None:
        problems = selectors.assignment_problems(visit, visit.inspector, day=planned_for)
        if problems:
            raise ValidationError({"planned_for": [
                _("The assigned inspector cannot inspect on %(day)s: %(problem)s")
                % {"day": f"{planned_for:%Y-%m-%d}", "problem": p} for p in problems]})
    before = audit.snapshot(visit)
    visit.planned_for = planned_for
    fields = ["planned_for"]
    if visit.overdue and planned_for >= timezone.localdate():
        visit.overdue = False
        fields.append("overdue")
    _bump(visit, fields)
    audit.record("visit.reschedule", visit, before=before, after=audit.snapshot(visit), reason=reason)
    return visit


@transaction.atomic
def do_cancel(*, visit, reason, expected_version=None):
    """Cancel a visit not yet started (the reason is required). The inspector loses the object rights on it;
    the row stays, with its plan slot, so re-planning the year does not bring it back."""
    visit = _lock(visit, expected_version)
    _require_state(visit, Visit.State.PLANNED, Visit.State.ASSIGNED)
    if not str(reason or "").strip():
        raise ValidationError({"reason": _("Say why the visit is cancelled.")})
    before = audit.snapshot(visit)
    if visit.inspector is not None:
        _revoke(visit.inspector, visit)
    visit.state = Visit.State.CANCELLED
    visit.cancelled_at = timezone.now()
    visit.overdue = False
    _bump(visit, ["state", "cancelled_at", "overdue"])
    audit.record("visit.cancel", visit, before=before, after=audit.snapshot(visit), reason=str(reason).strip())
    return visit


@transaction.atomic
def do_start(*, visit, expected_version=None):
    visit = _lock(visit, expected_version)
    if visit.state == Visit.State.IN_PROGRESS:
        return visit
    _require_state(visit, Visit.State.ASSIGNED)
    before = audit.snapshot(visit)
    visit.state = Visit.State.IN_PROGRESS
    visit.started_at = timezone.now()
    _bump(visit, ["state", "started_at"])
    audit.record("visit.start", visit, before=before, after=audit.snapshot(visit))
    return visit


@transaction.atomic
def do_record_checklist(*, visit, results, general_remarks=None, expected_version=None):
    """Save checklist answers: ``results`` is a list of {item, result, remark}."""
    visit = _lock(visit, expected_version)
    _require_state(visit, Visit.State.IN_PROGRESS)
    items = {item.pk: item for item in visit.licence.regulation_version.checklist.all()}
    errors = {}
    clean = []
    for index, row in enumerate(results):
        try:
            item = items[int(row.get("item"))]
        except (KeyError, TypeError, ValueError):
            errors[f"results[{index}].item"] = _("Not an item of this visit's checklist.")
            continue
        if row.get("result") not in ChecklistResult.Result.values:
            errors[f"results[{index}].result"] = _("Choose compliant, non-compliant or not applicable.")
            continue
        clean.append((item, row["result"], str(row.get("remark", ""))[:4000]))
    if errors:
        raise ValidationError(errors)
    before = {r.item_id: [r.result, r.remark] for r in visit.checklist_results.all()}
    for item, result, remark in clean:
        ChecklistResult.objects.update_or_create(body=visit.body, visit=visit, item=item,
                                                 defaults={"result": result, "remark": remark})
    fields = []
    if general_remarks is not None:
        visit.general_remarks = str(general_remarks)[:8000]
        fields.append("general_remarks")
    _bump(visit, fields)
    audit.record("visit.checklist", visit, before={"results": before},
                 after={"results": {item.pk: [result, remark] for item, result, remark in clean}})
    return visit


@transaction.atomic
def do_add_finding(*, visit, severity, description, checklist_item_id=None, actor=None, expected_version=None):
    visit = _lock(visit, expected_version)
    _require_state(visit, Visit.State.IN_PROGRESS)
    errors = {}
    if severity not in Finding.Severity.values:
        errors["severity"] = _("Choose minor or major.")
    if not str(description or "").strip():
        errors["description"] = _("Describe the finding.")
    item = None
    if checklist_item_id not in (None, ""):
        item = visit.licence.regulation_version.checklist.filter(pk=checklist_item_id).first()
        if item is None:
            errors["checklist_item"] = _("Not an item of this visit's checklist.")
    if errors:
        raise ValidationError(errors)
    finding = Finding.objects.create(body=visit.body, visit=visit, severity=severity,
                                     description=str(description).strip()[:8000], checklist_item=item,
                                     created_by=actor)
    _bump(visit, [])
    audit.record("finding.create", finding, after=audit.snapshot(finding))
    return finding


@transaction.atomic
def do_raise_conformity_finding(*, licence, severity, description, visit=None, actor=None, reason="",
                                follow_up_within_days=30):
    """A finding raised by a conformity evaluation (sampling/), not typed by the inspector on site.

    It goes on ``visit`` (the visit the sample was taken at), whatever its state; without one, on the
    licence's next open visit (planned, assigned or in progress); without any, on a follow-up visit planned
    ``follow_up_within_days`` ahead. On a visit already reviewed or closed the corrective action is due at
    once (review sets it otherwise). The visit's row_version is not bumped: an inspector's open form for
    that visit stays valid.
    """
    errors = {}
    if severity not in Finding.Severity.values:
        errors["severity"] = _("Choose minor or major.")
    if not str(description or "").strip():
        errors["description"] = _("Describe the finding.")
    if visit is not None and visit.licence_id != licence.pk:
        errors["visit"] = _("The visit is not of this licence.")
    if errors:
        raise ValidationError(errors)
    today = timezone.localdate()
    if visit is None:
        visit = (Visit.objects.filter(licence=licence, state__in=[Visit.State.PLANNED, Visit.State.ASSIGNED,
                                                                   Visit.State.IN_PROGRESS])
                 .order_by("planned_for", "id").first())
    if visit is None:
        visit = do_create_visit(licence=licence, kind=Visit.Kind.FOLLOW_UP,
                                planned_for=today + dt.timedelta(days=follow_up_within_days),
                                reason=reason or "Follow-up of a conformity finding")
    due = None
    if visit.state in (Visit.State.REVIEWED, Visit.State.CLOSED):
        due = today + dt.timedelta(days=ACTION_DUE_DAYS[severity])
    finding = Finding.objects.create(body=visit.body, visit=visit, severity=severity,
                                     description=str(description).strip()[:8000], action_due=due, created_by=actor)
    audit.record("finding.create", finding, after=audit.snapshot(finding), reason=reason)
    return finding


def _decode_png(data_url):
    prefix = "data:image/png;base64,"
    if not isinstance(data_url, str) or not data_url.startswith(prefix):
        raise ValidationError({"png": _("Expected a PNG image.")})
    try:
        raw = base64.b64decode(data_url[len(prefix):], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationError({"png": _("Not valid base64.")}) from exc
    if len(raw) > SIGNATURE_MAX_BYTES:
        raise ValidationError({"png": _("Signature image too large.")})
    if selectors.sniff_image(raw) != "image/png":
        raise ValidationError({"png": _("Not a PNG image.")})
    return raw


@transaction.atomic
def do_record_signature(*, visit, name, png_data_url, expected_version=None):
    visit = _lock(visit, expected_version)
    _require_state(visit, Visit.State.IN_PROGRESS)
    if not str(name or "").strip():
        raise ValidationError({"name": _("Name of the holder's representative is required.")})
    raw = _decode_png(png_data_url)
    before = audit.snapshot(visit)
    visit.signature.save(f"visit-{visit.pk}-signature.png", ContentFile(raw), save=False)
    visit.signed_by_name = str(name).strip()[:200]
    visit.signed_at = timezone.now()
    _bump(visit, ["signature", "signed_by_name", "signed_at"])
    audit.record("visit.sign", visit, before=before, after=audit.snapshot(visit))
    return visit


@transaction.atomic
def do_submit(*, visit, expected_version=None):
    visit = _lock(visit, expected_version)
    _require_state(visit, Visit.State.IN_PROGRESS)
    answered = set(visit.checklist_results.values_list("item_id", flat=True))
    missing = [item.code for item in visit.licence.regulation_version.checklist.filter(mandatory=True)
               if item.pk not in answered]
    errors = {}
    if missing:
        errors["checklist"] = _("Mandatory items not answered: %(items)s") % {"items": ", ".join(missing)}
    if not visit.signature:
        errors["signature"] = _("The holder's representative has not signed.")
    if errors:
        raise ValidationError(errors)
    before = audit.snapshot(visit)
    visit.state = Visit.State.SUBMITTED
    visit.submitted_at = timezone.now()
    _bump(visit, ["state", "submitted_at"])
    audit.record("visit.submit", visit, before=before, after=audit.snapshot(visit))
    return visit


def report_context(visit):
    samples = selectors.visit_samples(visit)
    return {
        "visit": visit, "body": visit.body, "licence": visit.licence, "holder": visit.licence.holder,
        "site": visit.site, "mark": visit.licence.mark, "version": visit.licence.regulation_version,
        "results": list(visit.checklist_results.select_related("item")),
        "findings": list(visit.findings.select_related("checklist_item")),
        "samples": samples, "samples_supported": samples is not None,
        "signature_data_url": selectors.signature_data_url(visit),
        "photos": selectors.report_photos(visit),
    }


@transaction.atomic
def do_review(*, visit, reviewer, note="", expected_version=None):
    """Staff review the submission; the report is issued to the holder (5 working days to comment)."""
    visit = _lock(visit, expected_version)
    _require_state(visit, Visit.State.SUBMITTED)
    if visit.inspector_id == reviewer.pk:
        raise ValidationError({"reviewer": _("The inspector of the visit may not review it.")})
    before = audit.snapshot(visit)
    now = timezone.now()
    visit.state = Visit.State.REVIEWED
    visit.reviewed_at = now
    visit.report_number = f"{visit.body.code.upper()}-IR-{visit.planned_for:%Y}-{visit.pk:06d}"
    visit.report_issued_at = now
    visit.comment_deadline = add_working_days(timezone.localdate(now), COMMENT_WORKING_DAYS)
    pdf = render_pdf("inspections/report_pdf.html", report_context(visit),
                     title=f"Inspection report {visit.report_number}")
    visit.report_pdf.save(f"{visit.report_number}.pdf", ContentFile(pdf), save=False)
    visit.report_sha256 = sha256(pdf)
    _bump(visit, ["state", "reviewed_at", "report_number", "report_issued_at", "comment_deadline",
                  "report_pdf", "report_sha256"])
    for finding in visit.findings.filter(action_due__isnull=True):
        finding.action_due = timezone.localdate(now) + dt.timedelta(days=ACTION_DUE_DAYS[finding.severity])
        finding.save(update_fields=["action_due"])
    audit.record("visit.review", visit, before=before, after=audit.snapshot(visit), reason=note)
    events.publish("inspection.report_issued", body=visit.body, subject=visit.report_number,
                   payload={"visit": visit.pk, "holder": visit.licence.holder_id,
                            "comment_deadline": visit.comment_deadline.isoformat()})
    holder = visit.licence.holder
    if holder.email:
        from licences.services import mail_in_recipient_languages

        mail_in_recipient_languages([holder.email], holder,
                                    lambda: (report_mail_subject(visit), report_mail_message(visit)),
                                    fail_silently=True)
    return visit


def report_mail_subject(visit):
    """In the active language (``do_review`` activates the recipient's)."""
    return _("Inspection report %(number)s") % {"number": visit.report_number}


def report_mail_message(visit):
    values = {"number": visit.report_number, "day": f"{visit.planned_for:%Y-%m-%d}", "site": visit.site.name,
              "link": f"{settings.SITE_URL.rstrip('/')}/portal/inspections/{visit.pk}/",
              "deadline": f"{visit.comment_deadline:%Y-%m-%d}", "days": COMMENT_WORKING_DAYS}
    return (_("The report %(number)s of the inspection visit of %(day)s at %(site)s is available in your portal: "
              "%(link)s") % values + "\n"
            + ngettext("You may comment on it until %(deadline)s (%(days)s working day).",
                       "You may comment on it until %(deadline)s (%(days)s working days).",
                       COMMENT_WORKING_DAYS) % values)


@transaction.atomic
def do_close(*, visit, expected_version=None, reason=""):
    visit = _lock(visit, expected_version)
    _require_state(visit, Visit.State.REVIEWED)
    if (visit.comment_deadline and timezone.localdate() <= visit.comment_deadline
            and not visit.report_comments.exists()):
        raise TransitionError(_("The holder may still comment on the report until %(deadline)s.")
                              % {"deadline": f"{visit.comment_deadline:%Y-%m-%d}"})
    before = audit.snapshot(visit)
    visit.state = Visit.State.CLOSED
    visit.closed_at = timezone.now()
    _bump(visit, ["state", "closed_at"])
    audit.record("visit.close", visit, before=before, after=audit.snapshot(visit), reason=reason)
    return visit


# --- photos (chunked, resumable) ------------------------------------------------------------


@transaction.atomic
def do_start_photo(*, visit, filename, size, caption="", upload_id=None):
    """Start a chunked upload. A device that queued the photo offline names the upload itself
    (``upload_id``), so starting it again after a lost answer returns the same upload."""
    visit = Visit.objects.select_for_update().get(pk=visit.pk)
    if upload_id is not None:
        existing = Photo.objects.filter(upload_id=upload_id).first()
        if existing is not None:
            if existing.visit_id != visit.pk:
                raise ValidationError({"upload_id": _("This upload id is already used.")})
            return existing
        if Photo._base_manager.filter(upload_id=upload_id).exists():  # another body's upload: say no more
            raise ValidationError({"upload_id": _("This upload id is already used.")})
    _require_state(visit, Visit.State.IN_PROGRESS)
    try:
        size = int(size)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"size": _("Give the file size in bytes.")}) from exc
    if size <= 0 or size > PHOTO_MAX_BYTES:
        raise ValidationError({"size": _("A photo must be between 1 byte and %(max)s MB.")
                               % {"max": PHOTO_MAX_BYTES // (1024 * 1024)}})
    photo = Photo.objects.create(body=visit.body, visit=visit, filename=str(filename or "photo")[:200], size=size,
                                 caption=str(caption or "")[:300], **({"upload_id": upload_id} if upload_id else {}))
    photo.file.save(f"visit-{visit.pk}-{photo.upload_id}.part", ContentFile(b""), save=True)
    audit.record("photo.start", photo, after=audit.snapshot(photo))
    return photo


@transaction.atomic
def do_append_photo_chunk(*, photo, offset, data):
    """Append ``data`` at ``offset``; a chunk already received is acknowledged, a gap is refused."""
    photo = Photo.objects.select_for_update().get(pk=photo.pk)
    if photo.complete:
        return photo
    if offset + len(data) <= photo.received:  # replay of a chunk we already have
        return photo
    if offset != photo.received:
        raise StaleVersion(photo)
    if photo.received + len(data) > photo.size or photo.received + len(data) > PHOTO_MAX_BYTES:
        raise ValidationError({"size": _("More bytes than announced.")})
    if offset == 0 and selectors.sniff_image(data[:16]) is None:
        raise ValidationError({"file": _("Only JPEG or PNG photos are accepted.")})
    with photo.file.storage.open(photo.file.name, "ab") as handle:
        handle.write(data)
    photo.received += len(data)
    fields = ["received"]
    if photo.received == photo.size:
        with photo.file.storage.open(photo.file.name, "rb") as handle:
            head = handle.read(64)
        kind = selectors.sniff_image(head)
        if kind is None:
            raise ValidationError({"file": _("Only JPEG or PNG photos are accepted.")})
        photo.content_type = kind
        photo.complete = True
        fields += ["content_type", "complete"]
        audit.record("photo.complete", photo, after=audit.snapshot(photo))
    photo.save(update_fields=fields)
    return photo


# --- report comments and corrective actions -------------------------------------------------


@transaction.atomic
def do_comment_report(*, visit, author, text, today=None):
    visit = Visit.objects.select_for_update().get(pk=visit.pk)
    today = today or timezone.localdate()
    if visit.state not in (Visit.State.REVIEWED, Visit.State.CLOSED) or not visit.report_issued_at:
        raise ValidationError({"text": _("The report has not been issued.")})
    if today > visit.comment_deadline:
        raise ValidationError({"text": _("The comment period ended on %(deadline)s.")
                               % {"deadline": f"{visit.comment_deadline:%Y-%m-%d}"}})
    if not str(text or "").strip():
        raise ValidationError({"text": _("Write a comment.")})
    comment = ReportComment.objects.create(body=visit.body, visit=visit, author=author, text=str(text).strip())
    audit.record("visit.report_comment", comment, after=audit.snapshot(comment))
    return comment


@transaction.atomic
def do_propose_action(*, finding, author, description, planned_by):
    finding = Finding.objects.select_for_update().get(pk=finding.pk)
    if finding.visit.state not in (Visit.State.REVIEWED, Visit.State.CLOSED):
        raise ValidationError({"description": _("The report has not been issued yet.")})
    if finding.state not in (Finding.State.OPEN,):
        raise ValidationError({"description": _("A corrective action is already proposed or accepted.")})
    if not str(description or "").strip():
        raise ValidationError({"description": _("Describe the corrective action.")})
    action = CorrectiveAction.objects.create(body=finding.body, finding=finding, description=description.strip(),
                                             planned_by=planned_by, proposed_by=author)
    before = audit.snapshot(finding)
    finding.state = Finding.State.PROPOSED
    finding.save(update_fields=["state"])
    audit.record("finding.action_propose", action, before=before, after=audit.snapshot(action))
    return action


@transaction.atomic
def do_decide_action(*, action, decider, accept, note="", verification=""):
    action = CorrectiveAction.objects.select_for_update().get(pk=action.pk)
    if action.state != CorrectiveAction.State.PROPOSED:
        raise ValidationError({"state": _("Only a proposed action can be accepted or rejected.")})
    if accept and verification not in CorrectiveAction.Verification.values:
        raise ValidationError({"verification": _("Say how it will be verified: next visit or documents.")})
    if not accept and not str(note).strip():
        raise ValidationError({"note": _("Give the reason for rejecting it.")})
    before = audit.snapshot(action)
    action.state = CorrectiveAction.State.ACCEPTED if accept else CorrectiveAction.State.REJECTED
    action.decided_by, action.decided_at, action.decision_note = decider, timezone.now(), note
    action.verification = verification if accept else ""
    action.save()
    finding = action.finding
    finding.state = Finding.State.ACCEPTED if accept else Finding.State.OPEN
    finding.save(update_fields=["state"])
    audit.record("finding.action_accept" if accept else "finding.action_reject", action, before=before,
                 after=audit.snapshot(action), reason=note)
    return action


@transaction.atomic
def do_verify_action(*, action, verifier, visit=None, note=""):
    action = CorrectiveAction.objects.select_for_update().get(pk=action.pk)
    if action.state != CorrectiveAction.State.ACCEPTED:
        raise ValidationError({"state": _("Only an accepted action can be verified.")})
    if action.verification == CorrectiveAction.Verification.NEXT_VISIT:
        if visit is None or visit.licence_id != action.finding.visit.licence_id or visit.pk == action.finding.visit_id:
            raise ValidationError({"visit": _("Verification at the next visit needs a later visit of the same licence.")})
    before = audit.snapshot(action)
    action.state = CorrectiveAction.State.VERIFIED
    action.verified_at = timezone.now()
    action.verified_in_visit = visit
    action.save()
    finding = action.finding
    finding.state = Finding.State.VERIFIED
    finding.save(update_fields=["state"])
    audit.record("finding.action_verify", action, before=before, after=audit.snapshot(action), reason=note)
    return action


@transaction.atomic
def do_escalate_overdue_actions(*, body, today=None):
    """Flag findings whose corrective action is late (not verified past its due date): staff see them."""
    today = today or timezone.localdate()
    late = Finding.objects.filter(body=body, action_due__lt=today, escalated_at__isnull=True).exclude(
        state=Finding.State.VERIFIED)
    ids = list(late.values_list("pk", flat=True))
    if ids:
        Finding.objects.filter(pk__in=ids).update(escalated_at=timezone.now())
        audit.record("finding.escalate", None, body=body, after={"findings": ids})
    return ids


@transaction.atomic
def do_flag_overdue_visits(*, body, today=None):
    """Visits planned in the past and not started are overdue; started or done ones are not."""
    today = today or timezone.localdate()
    late = Visit.objects.filter(body=body, planned_for__lt=today, overdue=False,
                                state__in=[Visit.State.PLANNED, Visit.State.ASSIGNED])
    ids = list(late.values_list("pk", flat=True))
    if ids:
        Visit.objects.filter(pk__in=ids).update(overdue=True)
        audit.record("visit.flag_overdue", None, body=body, after={"visits": ids})
    Visit.objects.filter(body=body, overdue=True).exclude(
        state__in=[Visit.State.PLANNED, Visit.State.ASSIGNED]).update(overdue=False)
    return ids



# --- planning ---------------------------------------------------------------------------------


@transaction.atomic
def do_plan_year(*, body, year, today=None):
    """Plan (idempotently) the year's visits of every licence in force; one audit event for the run."""
    from inspections import planning

    result = planning.plan(body, year, today=today)
    if result.created:
        audit.record("visit.plan", None, body=body, after={
            "year": year, "created": len(result.created), "unassigned": result.unassigned,
            "visits": [[visit_id, licence_id, inspector_id] for visit_id, licence_id, inspector_id in result.created],
        })
    return result
