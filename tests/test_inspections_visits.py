"""Visit life cycle: assignment rules and guardian grants, idempotent replays, stale edits, photos,
report PDF, the holder's comment window and corrective actions."""

import base64
import datetime as dt
import io
import struct
import uuid
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from pypdf import PdfReader

from certification.access import has_object_grant
from certification.audit import acting_as
from certification.models import AuditEvent
from certification.tenancy import tenant_scope
from inspections import services
from inspections.models import ChecklistResult, CorrectiveAction, Finding, IdempotencyRecord, Photo, Visit


def png_bytes(width=4, height=2):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


PNG_URL = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def a(world):
    with tenant_scope(world.a.body):
        yield world.a


@pytest.fixture
def visit(a):
    new = Visit.objects.create(body=a.body, licence=a.insp_licence, site=a.insp_site,
                               planned_for=timezone.localdate(), kind=Visit.Kind.PERIODIC)
    return services.do_assign(visit=new, inspector=a.inspector)


def op(client, visit, action, body=None, key=None, version=None):
    visit.refresh_from_db()
    return client.post(reverse("inspector:visit-op", kwargs={"pk": visit.pk, "action": action}),
                       data=body or {}, content_type="application/json",
                       headers={"Idempotency-Key": str(key or uuid.uuid4()),
                                "If-Match": str(version if version is not None else visit.row_version)})


# --- assignment and guardian grants ---------------------------------------------------------------


def test_assignment_refuses_unqualified_and_conflicted_inspectors(a, visit):
    q = a.insp_profiles[1].qualifications.get()
    q.valid_until = timezone.localdate() - dt.timedelta(days=1)
    q.save()
    with pytest.raises(ValidationError, match="Not qualified"):
        services.do_assign(visit=visit, inspector=a.inspector2)
    q.valid_until = None
    q.save()
    services.do_declare_conflict(profile=a.insp_profiles[1], holder=a.holder, reason="Brother-in-law is plant manager")
    with pytest.raises(ValidationError, match="conflict of interest"):
        services.do_assign(visit=visit, inspector=a.inspector2)
    with pytest.raises(ValidationError, match="Not an active inspector"):
        services.do_assign(visit=visit, inspector=a.officer)


def test_grant_moves_with_reassignment_and_inspectors_see_only_their_visits(a, visit, login):
    url = reverse("inspector:visit", kwargs={"pk": visit.pk})
    assert has_object_grant(a.inspector, "inspections.change_visit", visit)
    assert login(a.inspector).get(url).status_code == 200
    assert login(a.inspector2).get(url).status_code == 404
    services.do_assign(visit=visit, inspector=a.inspector2, reason="holiday")
    assert not has_object_grant(a.inspector, "inspections.view_visit", visit)
    assert has_object_grant(a.inspector2, "inspections.change_visit", visit)
    assert login(a.inspector).get(url).status_code == 404
    assert login(a.inspector2).get(url).status_code == 200
    home = login(a.inspector).get(reverse("inspector:home")).content.decode()
    assert f"/inspector/visits/{visit.pk}/" not in home
    assert AuditEvent.objects.filter(action="visit.assign", object_id=str(visit.pk)).count() == 2


def test_a_model_wide_permission_does_not_open_other_visits(a, visit, login):
    from django.contrib.auth.models import Permission

    a.inspector2.user_permissions.add(Permission.objects.get(codename="change_visit"))
    assert login(a.inspector2).get(reverse("inspector:visit", kwargs={"pk": visit.pk})).status_code == 404


# --- offline submissions: idempotency and stale edits --------------------------------------------


def test_replayed_submission_creates_nothing_twice(a, visit, login):
    client = login(a.inspector)
    assert op(client, visit, "start").status_code == 200
    key = uuid.uuid4()
    body = {"severity": "minor", "description": "Delivery notes lack the mark"}
    first = op(client, visit, "finding", body, key=key)
    assert first.status_code == 200
    replay = op(client, visit, "finding", body, key=key, version=1)  # the old version: replay wins over it
    assert replay.status_code == 200 and replay["Idempotent-Replay"] == "true"
    assert replay.json() == first.json()
    assert Finding.objects.filter(visit=visit).count() == 1
    assert IdempotencyRecord.objects.filter(key=key).count() == 1
    # The same key may not be reused for another action.
    assert op(client, visit, "submit", key=key).status_code == 422


def test_stale_edit_is_refused_with_the_conflict(a, visit, login):
    client = login(a.inspector)
    op(client, visit, "start")
    visit.refresh_from_db()
    seen = visit.row_version
    item = a.insp_items[0]
    assert op(client, visit, "checklist", {"results": [{"item": item.pk, "result": "compliant"}],
                                           "general_remarks": "first device"}).status_code == 200
    response = op(client, visit, "checklist", {"results": [{"item": item.pk, "result": "non_compliant"}],
                                               "general_remarks": "second device"}, version=seen)
    assert response.status_code == 409
    payload = response.json()
    assert payload["error"] == "conflict" and payload["your_version"] == seen
    assert payload["current"]["general_remarks"] == "first device"
    assert payload["current"]["checklist"][str(item.pk)]["result"] == "compliant"
    assert ChecklistResult.objects.get(visit=visit, item=item).result == "compliant"  # not overwritten


def test_bad_submissions_get_json_errors(a, visit, login):
    client = login(a.inspector)
    url = reverse("inspector:visit-op", kwargs={"pk": visit.pk, "action": "start"})
    assert client.post(url, data="{}", content_type="application/json", headers={"If-Match": "1"}).status_code == 400
    assert client.post(url, data="{}", content_type="application/json",
                       headers={"Idempotency-Key": str(uuid.uuid4())}).status_code == 428
    op(client, visit, "start")
    response = op(client, visit, "finding", {"severity": "critical", "description": ""})
    assert response.status_code == 400 and set(response.json()["errors"]) == {"severity", "description"}
    response = client.post(reverse("inspector:visit-op", kwargs={"pk": visit.pk, "action": "finding"}),
                           data="[[[", content_type="application/json",
                           headers={"Idempotency-Key": str(uuid.uuid4()), "If-Match": str(visit.row_version + 0)})
    assert response.status_code in (400, 409)
    assert op(client, visit, "submit").json()["errors"].keys() == {"checklist", "signature"}


# --- photos ---------------------------------------------------------------------------------------


def test_photo_upload_in_chunks_resumes_and_checks_content(a, visit, login):
    client = login(a.inspector)
    op(client, visit, "start")
    data = png_bytes(40, 40)
    start_url = reverse("inspector:photo-start", kwargs={"pk": visit.pk})
    response = client.post(start_url, data={"filename": "x.png", "size": len(data)}, content_type="application/json")
    assert response.status_code == 201
    url = reverse("inspector:photo-chunk", kwargs={"pk": visit.pk, "upload_id": response.json()["upload_id"]})
    half = len(data) // 2
    assert client.post(url, data=data[:half], content_type="application/octet-stream",
                       headers={"Upload-Offset": "0"}).json()["received"] == half
    # A gap is refused with what the server holds, so the client resumes from there.
    gap = client.post(url, data=data[half + 5:], content_type="application/octet-stream",
                      headers={"Upload-Offset": str(half + 5)})
    assert gap.status_code == 409 and gap.json()["received"] == half
    assert client.get(url).json() == {"received": half, "size": len(data), "complete": False}
    done = client.post(url, data=data[half:], content_type="application/octet-stream",
                       headers={"Upload-Offset": str(half)}).json()
    assert done["complete"] is True
    photo = Photo.objects.get(visit=visit)
    assert photo.content_type == "image/png" and photo.file.read() == data
    # Not an image by content (whatever its name), or too large: refused.
    fake = client.post(start_url, data={"filename": "y.jpg", "size": 10}, content_type="application/json").json()
    fake_url = reverse("inspector:photo-chunk", kwargs={"pk": visit.pk, "upload_id": fake["upload_id"]})
    assert client.post(fake_url, data=b"MZ12345678", content_type="application/octet-stream",
                       headers={"Upload-Offset": "0"}).status_code == 400
    too_big = client.post(start_url, data={"filename": "z.png", "size": services.PHOTO_MAX_BYTES + 1},
                          content_type="application/json")
    assert too_big.status_code == 400


def test_photo_named_by_the_device_starts_once_and_resumes(a, visit, login):
    client = login(a.inspector)
    op(client, visit, "start")
    data = png_bytes(30, 30)
    upload_id = str(uuid.uuid4())
    start_url = reverse("inspector:photo-start", kwargs={"pk": visit.pk})
    body = {"upload_id": upload_id, "filename": "kerb.png", "size": len(data), "caption": "Kerb stock"}
    first = client.post(start_url, data=body, content_type="application/json")
    assert first.status_code == 201 and first.json()["upload_id"] == upload_id
    url = reverse("inspector:photo-chunk", kwargs={"pk": visit.pk, "upload_id": upload_id})
    half = len(data) // 2
    client.post(url, data=data[:half], content_type="application/octet-stream", headers={"Upload-Offset": "0"})
    # The answer to the start was lost, the device starts again: same upload, and it says where to go on.
    again = client.post(start_url, data=body, content_type="application/json").json()
    assert again == {"upload_id": upload_id, "received": half, "size": len(data), "complete": False}
    assert Photo.objects.filter(visit=visit).count() == 1
    # The same id on another visit is refused; a malformed id is a field error.
    other = services.do_assign(visit=Visit.objects.create(body=a.body, licence=a.insp_licence, site=a.insp_site,
                                                          planned_for=timezone.localdate(),
                                                          kind=Visit.Kind.PERIODIC), inspector=a.inspector)
    op(client, other, "start")
    other_url = reverse("inspector:photo-start", kwargs={"pk": other.pk})
    reused = client.post(other_url, data=body, content_type="application/json")
    assert reused.status_code == 400 and "upload_id" in reused.json()["errors"]
    bad = client.post(start_url, data={**body, "upload_id": "not-a-uuid"}, content_type="application/json")
    assert bad.status_code == 400 and "upload_id" in bad.json()["errors"]


def test_logout_tells_the_browser_to_forget_the_site(a, login):
    client = login(a.inspector)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "storage"'


# --- report, comment window, corrective actions ------------------------------------------------


def run_visit(a, visit, client, photos=()):
    assert op(client, visit, "start").status_code == 200
    for name, caption, data in photos:
        visit.refresh_from_db()
        photo = services.do_start_photo(visit=visit, filename=name, size=len(data), caption=caption)
        services.do_append_photo_chunk(photo=photo, offset=0, data=data)
    results = [{"item": item.pk, "result": "compliant", "remark": f"ok {item.code}"} for item in a.insp_items]
    results[1]["result"] = "non_compliant"
    assert op(client, visit, "checklist", {"results": results, "general_remarks": "Plant clean"}).status_code == 200
    assert op(client, visit, "finding", {"severity": "major", "description": "Mixer calibration expired",
                                         "checklist_item": a.insp_items[1].pk}).status_code == 200
    assert op(client, visit, "signature", {"name": "Marie Dubois", "png": PNG_URL}).status_code == 200
    assert op(client, visit, "submit").status_code == 200


def test_report_pdf_has_the_mandatory_fields(a, visit, login):
    run_visit(a, visit, login(a.inspector))
    with pytest.raises(ValidationError, match="may not review"):
        services.do_review(visit=visit, reviewer=a.inspector)
    with acting_as(a.officer):
        visit = services.do_review(visit=visit, reviewer=a.officer)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(visit.report_pdf.read())).pages)
    text = " ".join(text.split())
    for expected in [a.body.name, visit.report_number, visit.planned_for.strftime("%Y-%m-%d"), a.holder.name,
                     a.insp_site.name, a.inspector.email, a.insp_licence.number, a.insp_licence.mark.name,
                     "INSP-TRA-11 version 1", "Calibration of the mixing plant", "Non-compliant",
                     "Mixer calibration expired", "Major", "Marie Dubois", "Samples"]:
        assert expected in text, expected
    assert visit.report_sha256 and visit.state == Visit.State.REVIEWED
    staff_pdf = login(a.admin).get(reverse("staff:visit-report", kwargs={"pk": visit.pk}))
    assert staff_pdf.status_code == 200 and staff_pdf["Content-Type"] == "application/pdf"


def test_report_pdf_shows_the_photos_scaled_down(a, visit, login):
    big = io.BytesIO()
    Image.new("RGB", (3000, 2000), (200, 120, 40)).save(big, "PNG")
    run_visit(a, visit, login(a.inspector), photos=[("stock.png", "Kerb stock, bay 3", big.getvalue()),
                                                     ("plant.png", "", png_bytes(40, 30))])
    visit = services.do_review(visit=visit, reviewer=a.officer)
    reader = PdfReader(io.BytesIO(visit.report_pdf.read()))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert "Photos" in text and "1. Kerb stock, bay 3" in text and "2. plant.png" in text
    # Pages may share one resource dictionary, so the same image can be listed on several pages.
    images = {image.data: image.image.size for page in reader.pages for image in page.images}
    assert sorted(images.values()) == sorted([(1200, 800), (40, 30), (4, 2)])  # 3000 × 2000 scaled; signature


def test_holder_has_five_working_days_to_comment(a, visit, login, mailoutbox, django_capture_on_commit_callbacks):
    assert services.add_working_days(dt.date(2026, 11, 27), 5) == dt.date(2026, 12, 4)  # Friday -> Friday
    assert services.add_working_days(dt.date(2026, 11, 28), 5) == dt.date(2026, 12, 4)  # Saturday -> Friday
    run_visit(a, visit, login(a.inspector))
    with django_capture_on_commit_callbacks(execute=True):
        visit = services.do_review(visit=visit, reviewer=a.officer)
    assert visit.comment_deadline == services.add_working_days(timezone.localdate(), 5)
    assert len(mailoutbox) == 1 and visit.report_number in mailoutbox[0].subject
    assert mailoutbox[0].to == [a.holder.email]
    with pytest.raises(ValidationError, match="may still comment"):
        services.do_close(visit=visit)
    services.do_comment_report(visit=visit, author=a.holder_user, text="On time", today=visit.comment_deadline)
    with pytest.raises(ValidationError, match="comment period ended"):
        services.do_comment_report(visit=visit, author=a.holder_user, text="Late",
                                   today=visit.comment_deadline + dt.timedelta(days=1))
    portal = login(a.holder_user)
    page = portal.get(reverse("portal:inspection-report", kwargs={"pk": visit.pk}))
    assert page.status_code == 200 and "On time" in page.content.decode()
    response = portal.post(reverse("portal:inspection-report", kwargs={"pk": visit.pk}), {"text": "Second remark"})
    assert response.status_code == 302
    assert visit.report_comments.count() == 2
    assert portal.get(reverse("portal:inspection-report-pdf", kwargs={"pk": visit.pk})).status_code == 200
    # Another holder cannot see it.
    assert login(a.holder2_user).get(reverse("portal:inspection-report", kwargs={"pk": visit.pk})).status_code == 404
    services.do_close(visit=visit)  # the holder has commented: closing is allowed


def test_corrective_action_cycle_and_escalation(a, visit, login):
    run_visit(a, visit, login(a.inspector))
    visit = services.do_review(visit=visit, reviewer=a.officer)
    finding = visit.findings.get()
    assert finding.action_due == timezone.localdate() + dt.timedelta(days=30)  # major: 30 days
    response = login(a.holder_user).post(reverse("portal:finding-action", kwargs={"pk": finding.pk}),
                                         {"description": "Recalibrate by accredited lab", "planned_by": "2030-01-15"})
    assert response.status_code == 302
    action = CorrectiveAction.objects.get(finding=finding)
    with pytest.raises(ValidationError):
        services.do_decide_action(action=action, decider=a.officer, accept=False, note="")
    services.do_decide_action(action=action, decider=a.officer, accept=True, verification="documents")
    finding.refresh_from_db()
    assert finding.state == Finding.State.ACCEPTED
    # Not verified past its due date: escalated once to staff.
    late = finding.action_due + dt.timedelta(days=1)
    assert finding.pk in services.do_escalate_overdue_actions(body=a.body, today=late)
    assert services.do_escalate_overdue_actions(body=a.body, today=late) == []
    dashboard = login(a.admin).get(reverse("staff:inspections-dashboard")).content.decode()
    assert "overdue, escalated" in dashboard
    services.do_verify_action(action=action, verifier=a.officer)
    finding.refresh_from_db()
    assert finding.state == Finding.State.VERIFIED


def test_staff_pages_plan_and_assign(a, visit, login):
    client = login(a.admin)
    assert client.get(reverse("staff:inspections-dashboard")).status_code == 200
    response = client.post(reverse("staff:inspections-plan"), {"year": timezone.localdate().year + 1})
    assert response.status_code == 302
    # Other apps' worlds add licences to the body: count the visits of the inspections world's licence.
    assert Visit.objects.filter(plan_year=timezone.localdate().year + 1, licence=a.insp_licence).count() == 2
    assert client.get(reverse("staff:inspectors")).status_code == 200
    page = client.get(reverse("staff:inspector-detail", kwargs={"pk": a.insp_profiles[0].pk}))
    assert page.status_code == 200
    visit.refresh_from_db()
    response = client.post(reverse("staff:visit-assign", kwargs={"pk": visit.pk}),
                           {"inspector": a.inspector2.pk, "row_version": visit.row_version - 1})
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.inspector == a.inspector  # stale form: refused, nothing overwritten
    client.post(reverse("staff:visit-assign", kwargs={"pk": visit.pk}),
                {"inspector": a.inspector2.pk, "row_version": visit.row_version})
    visit.refresh_from_db()
    assert visit.inspector == a.inspector2
    response = client.post(reverse("staff:visit-create"), {"licence": a.insp_licence.pk, "kind": "complaint",
                                                           "planned_for": "2030-03-04", "announced": "on"})
    assert response.status_code == 302
    assert Visit.objects.filter(kind=Visit.Kind.COMPLAINT, planned_for=dt.date(2030, 3, 4)).count() == 1
    page = client.post(reverse("staff:visit-create"), {"licence": 0, "kind": "complaint", "planned_for": "x"})
    assert page.status_code == 200 and "errorlist" in page.content.decode()
    # An auditor may look but not plan.
    assert login(a.auditor).post(reverse("staff:inspections-plan"), {"year": 2030}).status_code == 403


def test_actions_to_verify_show_at_the_next_visit(a, visit, login):
    action = a.insp_action
    services.do_decide_action(action=action, decider=a.officer, accept=True, verification="next_visit")
    page = login(a.inspector).get(reverse("inspector:visit", kwargs={"pk": visit.pk})).content.decode()
    assert "Corrective actions to verify at this visit" in page and "Calibration certificate expired" in page
    with pytest.raises(ValidationError, match="later visit"):
        services.do_verify_action(action=action, verifier=a.officer, visit=a.insp_visit)
    services.do_verify_action(action=action, verifier=a.officer, visit=visit)
    assert Finding.objects.get(pk=a.insp_finding.pk).state == Finding.State.VERIFIED


def test_tasks_run_in_the_body_scope(world):
    from inspections import tasks

    year = timezone.localdate().year + 1
    first = tasks.plan_visits(world.a.body.pk, year)
    with tenant_scope(world.a.body):
        # The task reports what it planned for all of A's licences (other apps' worlds add their own) ...
        planned = Visit.objects.filter(plan_year=year)
        assert first == {"created": planned.count(), "unassigned": planned.filter(inspector__isnull=True).count()}
        # ... among which the inspections world's licence got its 2 visits, both assigned.
        ours = planned.filter(licence=world.a.insp_licence)
        assert ours.count() == 2 and not ours.filter(inspector__isnull=True).exists()
    assert tasks.plan_visits(world.a.body.pk, year) == {"created": 0, "unassigned": 0}
    result = tasks.inspections_housekeeping(world.a.body.pk)
    assert set(result) == {"overdue_visits", "escalated_findings"}
    with tenant_scope(world.b.body):
        assert not Visit.objects.filter(plan_year=year).exists()  # body A's run touched only body A
