"""Staff pages, import/export and API of marks/, and tenant scoping (body B never sees or edits body A's)."""

import csv
import io
import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from certification.models import AuditEvent
from certification.tenancy import scopes_disabled, tenant_scope
from marks import exchange, services
from marks.models import Mark, ProductCategory, Regulation, RegulationVersion

pytestmark = pytest.mark.django_db

SECRET = "SECRETA7731"


def _rows(version):
    with scopes_disabled("test"):
        return list(version.requirements.order_by("order", "property_code").values_list(
            "property_code", "property_name", "test_method__code", "unit", "lower_limit", "upper_limit",
            "declared_tolerance", "conformity_rule", "self_monitoring_every", "self_monitoring_basis",
            "sampled_externally", "order", "ocl_limit_a", "ocl_limit_b", "ocl_tonnes_a", "ocl_tonnes_b",
            "ocl_tonnes_c", "ocl_start_level", "ocl_escalate_at_c", "finding_severity"))


def _fresh(version):
    with scopes_disabled("test"):
        return RegulationVersion._base_manager.get(pk=version.pk)


def _management(prefix, total, initial):
    return {f"{prefix}-TOTAL_FORMS": str(total), f"{prefix}-INITIAL_FORMS": str(initial),
            f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}


def edit_payload(version):
    """The edit form as the page renders it (no change), for the draft ``version``."""
    with scopes_disabled("test"):
        version = RegulationVersion._base_manager.get(pk=version.pk)
        data = {"v-row_version": str(version.row_version)}
        for name in ("visits_per_year_admission", "visits_per_year_normal", "visits_per_year_reinforced",
                     "unannounced_share", "samples_per_year", "changes_summary"):
            data[f"v-{name}"] = str(getattr(version, name))
        data["v-reference_documents"] = [str(pk) for pk in version.reference_documents.values_list("pk", flat=True)]
        reqs = list(version.requirements.all())
        data.update(_management("req", len(reqs), len(reqs)))
        for i, r in enumerate(reqs):
            data.update({f"req-{i}-id": str(r.pk), f"req-{i}-version": str(version.pk), f"req-{i}-order": str(r.order),
                         f"req-{i}-property_code": r.property_code, f"req-{i}-property_name": r.property_name,
                         f"req-{i}-test_method": str(r.test_method_id or ""), f"req-{i}-unit": r.unit,
                         f"req-{i}-lower_limit": "" if r.lower_limit is None else str(r.lower_limit),
                         f"req-{i}-upper_limit": "" if r.upper_limit is None else str(r.upper_limit),
                         f"req-{i}-declared_tolerance": "" if r.declared_tolerance is None else str(r.declared_tolerance),
                         f"req-{i}-conformity_rule": r.conformity_rule,
                         f"req-{i}-self_monitoring_every": (
                             "" if r.self_monitoring_every is None else str(r.self_monitoring_every)),
                         f"req-{i}-self_monitoring_basis": r.self_monitoring_basis,
                         f"req-{i}-ocl_limit_a": "" if r.ocl_limit_a is None else str(r.ocl_limit_a),
                         f"req-{i}-ocl_limit_b": "" if r.ocl_limit_b is None else str(r.ocl_limit_b),
                         f"req-{i}-ocl_tonnes_a": r.ocl_tonnes_a, f"req-{i}-ocl_tonnes_b": r.ocl_tonnes_b,
                         f"req-{i}-ocl_tonnes_c": r.ocl_tonnes_c, f"req-{i}-ocl_start_level": r.ocl_start_level,
                         f"req-{i}-finding_severity": r.finding_severity})
            if r.sampled_externally:
                data[f"req-{i}-sampled_externally"] = "on"
            if r.ocl_escalate_at_c:
                data[f"req-{i}-ocl_escalate_at_c"] = "on"
        items = list(version.checklist.all())
        data.update(_management("chk", len(items), len(items)))
        for i, c in enumerate(items):
            data.update({f"chk-{i}-id": str(c.pk), f"chk-{i}-version": str(version.pk), f"chk-{i}-order": str(c.order),
                         f"chk-{i}-code": c.code, f"chk-{i}-text": c.text})
            if c.mandatory:
                data[f"chk-{i}-mandatory"] = "on"
    return data


# --- pages render ---------------------------------------------------------------------------------------

def test_staff_pages_render(world, login):
    a = world.a
    client = login(a.admin)
    urls = [
        reverse("staff:regulation-list"), reverse("staff:regulation-create"), reverse("staff:mark-reference"),
        reverse("staff:regulation-detail", args=[a.regulation.pk]),
        reverse("staff:version-detail", args=[a.regulation_version.pk]),
        reverse("staff:version-edit", args=[a.regulation_draft.pk]),
        reverse("staff:version-publish", args=[a.regulation_draft.pk]),
        reverse("staff:version-compare", args=[a.regulation_draft.pk]),
        reverse("staff:version-import", args=[a.regulation_draft.pk]),
        reverse("staff:regulation-draft", args=[a.regulation.pk]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
    assert b"TRA 11" in client.get(reverse("staff:regulation-list")).content
    # auditors read, but may not edit
    client = login(a.auditor)
    assert client.get(reverse("staff:version-detail", args=[a.regulation_version.pk])).status_code == 200
    assert client.get(reverse("staff:version-edit", args=[a.regulation_draft.pk])).status_code == 403
    assert client.get(reverse("staff:version-publish", args=[a.regulation_draft.pk])).status_code == 403


def test_edit_page_saves_and_refuses_a_stale_form(world, login):
    a = world.a
    client = login(a.officer)
    url = reverse("staff:version-edit", args=[a.regulation_draft.pk])
    stale = edit_payload(a.regulation_draft)
    fresh = dict(stale)
    fresh["v-visits_per_year_normal"] = "3.0"
    fresh["req-0-upper_limit"] = "6.4"
    # add one requirement and one checklist item in the extra rows
    fresh.update(_management("req", 2, 1))
    fresh.update({"req-1-version": str(a.regulation_draft.pk), "req-1-order": "20", "req-1-property_code": "void-content",
                  "req-1-property_name": "Void content", "req-1-unit": "%", "req-1-lower_limit": "3",
                  "req-1-upper_limit": "6", "req-1-conformity_rule": "individual"})
    fresh["chk-0-DELETE"] = "on"
    response = client.post(url, fresh)
    assert response.status_code == 302, response.content.decode()[:3000]
    draft = _fresh(a.regulation_draft)
    assert draft.visits_per_year_normal == 3 and draft.row_version == a.regulation_draft.row_version + 1
    rows = {r[0]: r for r in _rows(draft)}
    assert set(rows) == {"binder-content", "void-content"} and str(rows["binder-content"][5]) == "6.4000"
    with scopes_disabled("test"):
        assert not draft.checklist.exists()
    # the second editor's form was loaded before: refused with 409, nothing changes
    stale["v-visits_per_year_normal"] = "9.0"
    response = client.post(url, stale)
    assert response.status_code == 409
    assert "Someone else changed this draft" in response.content.decode()
    assert _fresh(a.regulation_draft).visits_per_year_normal == 3


def test_edit_page_shows_form_errors(world, login):
    a = world.a
    client = login(a.officer)
    data = edit_payload(a.regulation_draft)
    data["req-0-lower_limit"] = "7"  # above the upper limit 6.2
    response = client.post(reverse("staff:version-edit", args=[a.regulation_draft.pk]), data)
    assert response.status_code == 400
    assert "The upper limit is below the lower limit." in response.content.decode()
    assert _fresh(a.regulation_draft).row_version == a.regulation_draft.row_version


def test_published_version_cannot_be_edited_through_the_pages(world, login):
    a = world.a
    client = login(a.admin)
    published = a.regulation_version
    before = _rows(published)
    data = edit_payload(a.regulation_draft)  # a well-formed form, aimed at the published version
    data["v-row_version"] = str(published.row_version)
    response = client.post(reverse("staff:version-edit", args=[published.pk]), data)
    assert response.status_code == 302 and response["Location"].endswith(
        reverse("staff:version-detail", args=[published.pk]))
    good = SimpleUploadedFile("r.json", b'[{"property_code": "x", "property_name": "X", "upper_limit": "1"}]')
    response = client.post(reverse("staff:version-import", args=[published.pk]),
                           {"row_version": published.row_version, "format": "json", "file": good})
    assert response.status_code == 302
    response = client.post(reverse("staff:version-publish", args=[published.pk]),
                           {"row_version": published.row_version, "effective_date": "2030-01-01"})
    assert response.status_code == 302
    assert _rows(published) == before
    fresh = _fresh(published)
    assert fresh.effective_date == date(2024, 1, 1) and fresh.status == "published"


def test_publish_page(world, login):
    a = world.a
    client = login(a.officer)
    url = reverse("staff:version-publish", args=[a.regulation_draft.pk])
    response = client.post(url, {"row_version": a.regulation_draft.row_version, "effective_date": "2027-01-01",
                                 "transition_end": "2026-12-01"})
    assert response.status_code == 400 and "The transition cannot end before" in response.content.decode()
    response = client.post(url, {"row_version": a.regulation_draft.row_version, "effective_date": "2027-01-01",
                                 "transition_end": "2027-06-30"})
    assert response.status_code == 302
    assert _fresh(a.regulation_draft).status == "published"
    assert _fresh(a.regulation_version).status == "superseded"
    assert _fresh(a.regulation_draft).published_by == a.officer


def test_create_regulation_page_respects_the_mandate(world, login):
    a = world.a
    client = login(a.admin)
    with scopes_disabled("test"):
        copro = Mark.objects.get(code="copro")
        asphalt = ProductCategory.objects.get(code="asphalt-mixtures")
        geo = ProductCategory.objects.get(code="geotextiles")
        benor = Mark.objects.get(code="benor")
    response = client.post(reverse("staff:regulation-create"), {
        "code": "TRA 9", "title": "Geotextiles", "mark": copro.pk, "categories": [geo.pk]})
    assert response.status_code == 200 and "Outside this body" in response.content.decode()
    response = client.post(reverse("staff:regulation-create"), {
        "code": "TRA 9", "title": "Benor", "mark": benor.pk, "categories": [asphalt.pk]})
    assert response.status_code == 200  # BENOR is not mandated to body A: not even a choice
    response = client.post(reverse("staff:regulation-create"), {
        "code": "TRA 11", "title": "Duplicate", "mark": copro.pk, "categories": [asphalt.pk]})
    assert response.status_code == 200 and "already exists" in response.content.decode()
    with scopes_disabled("test"):
        assert not Regulation._base_manager.filter(body=a.body, code="TRA 9").exists()
    response = client.post(reverse("staff:regulation-create"), {
        "code": "TRA 12", "title": "Asphalt base", "mark": copro.pk, "categories": [asphalt.pk]})
    assert response.status_code == 302
    with scopes_disabled("test"):
        regulation = Regulation._base_manager.get(body=a.body, code="TRA 12")
        assert regulation.versions.get().status == "draft"


def test_compare_page_lists_added_removed_changed(world):
    a = world.a
    with tenant_scope(a.body):
        draft = a.regulation_draft
        binder = draft.requirements.get(property_code="binder-content")
        services.do_edit_draft(
            version=draft, expected_row_version=draft.row_version, header={"visits_per_year_normal": 5},
            requirements=services.RowChanges(
                update={binder.pk: {"upper_limit": "6.0"}},
                create=[{"property_code": "itsr", "property_name": "Water sensitivity ITSR", "lower_limit": 80}]),
            checklist=services.RowChanges(create=[{"code": "DEL-1", "text": "Delivery notes carry the mark."}],
                                          delete=list(draft.checklist.values_list("pk", flat=True))))
    from django.test import Client

    client = Client()
    client.force_login(a.admin)
    response = client.get(reverse("staff:version-compare", args=[draft.pk]) + f"?other={a.regulation_version.pk}")
    html = response.content.decode()
    assert response.status_code == 200
    assert "+ itsr" in html and "~ binder-content" in html and "upper_limit" in html
    assert "+ DEL-1" in html and "− FPC-1" in html
    assert "Visits a year — normal" in html or "visits per year normal" in html
    with tenant_scope(a.body):
        from marks.selectors import compare_versions

        draft.refresh_from_db()
        diff = compare_versions(a.regulation_version, draft)
    assert [r.property_code for r in diff["requirements"]["added"]] == ["itsr"]
    assert diff["requirements"]["removed"] == []
    assert [c["key"] for c in diff["requirements"]["changed"]] == ["binder-content"]
    assert [f[0] for f in diff["frequencies"]] == ["visits_per_year_normal"]
    assert [c.code for c in diff["checklist"]["removed"]] == ["FPC-1"]


# --- import / export ------------------------------------------------------------------------------------

def test_export_round_trip_csv_and_json(world, login):
    a = world.a
    client = login(a.admin)
    published = a.regulation_version
    for fmt, name in (("csv", "staff:version-export-csv"), ("json", "staff:version-export-json")):
        response = client.get(reverse(name, args=[published.pk]))
        assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
        content = response.content
        # wipe the draft's requirements, then import the export: same rows as the published version
        with tenant_scope(a.body):
            draft = _fresh(a.regulation_draft)
            services.do_replace_requirements(version=draft, expected_row_version=draft.row_version, rows=[])
        draft = _fresh(a.regulation_draft)
        assert _rows(draft) == []
        upload = SimpleUploadedFile(f"export.{fmt}", content)
        response = client.post(reverse("staff:version-import", args=[draft.pk]),
                               {"row_version": draft.row_version, "format": fmt, "file": upload})
        assert response.status_code == 302, response.content.decode()[-3000:]
        assert _rows(a.regulation_draft) == _rows(published)
    rows = list(csv.DictReader(io.StringIO(client.get(
        reverse("staff:version-export-csv", args=[published.pk])).content.decode())))
    assert rows[0]["property_code"] == "binder-content" and rows[0]["test_method"] == "EN 12697-1:2020"
    data = json.loads(client.get(reverse("staff:version-export-json", args=[published.pk])).content)
    assert data["requirements"][0]["lower_limit"] == "5.2"


HEADER = ",".join(exchange.COLUMNS) + "\n"
GOOD_CSV = HEADER + """\
binder-content,Soluble binder content,EN 12697-1:2020,% (m/m),5.2,6.2,0.3,en13108_21,500,tonnes,true,10
void-content,Void content,EN 12697-8:2018,%,3.0,6.0,,individual,2000,tonnes,yes,20
itsr,Water sensitivity ITSR,,%,80,,,individual,,,false,30
"""

BAD_CSV = HEADER + """\
binder-content,Soluble binder content,EN 12697-1:2020,%,5.2,6.2,,en13108_21,500,tonnes,true,10
void content,Void content,EN 99999,%,7,6,,individual,2000,tonnes,true,20
itsr,Water sensitivity ITSR,,%,abc,,,sometimes,,,maybe,30
binder-content,Again,,%,1,2,,individual,500,,false,40
ok-row,Fine row,,%,1,2,,individual,,,false,50
"""


def test_import_good_csv_replaces_requirements(world, login):
    a = world.a
    client = login(a.officer)
    draft = a.regulation_draft
    response = client.post(reverse("staff:version-import", args=[draft.pk]), {
        "row_version": draft.row_version, "format": "csv",
        "file": SimpleUploadedFile("good.csv", GOOD_CSV.encode())})
    assert response.status_code == 302
    rows = _rows(draft)
    assert [r[0] for r in rows] == ["binder-content", "void-content", "itsr"]
    assert rows[1][2] == "EN 12697-8:2018" and rows[1][10] is True and rows[2][10] is False
    with scopes_disabled("test"):
        assert AuditEvent.objects.filter(action="regulation.requirements_imported", object_id=str(draft.pk)).exists()
    assert _fresh(draft).row_version == draft.row_version + 1


def test_bad_import_reports_every_bad_row_and_changes_nothing(world, login):
    a = world.a
    client = login(a.officer)
    draft = a.regulation_draft
    before = _rows(draft)
    with scopes_disabled("test"):
        events = AuditEvent.objects.count()
    response = client.post(reverse("staff:version-import", args=[draft.pk]), {
        "row_version": draft.row_version, "format": "csv",
        "file": SimpleUploadedFile("bad.csv", BAD_CSV.encode())})
    assert response.status_code == 400
    errors = {(e.row, e.column) for e in response.context["errors"]}
    assert {(3, "property_code"), (3, "test_method"), (3, "upper_limit"),
            (4, "lower_limit"), (4, "conformity_rule"), (4, "sampled_externally"),
            (5, "property_code"), (5, "self_monitoring_basis")} <= errors
    assert not any(row in (2, 6) for row, _ in errors)
    html = response.content.decode()
    assert "nothing was imported" in html and "Unknown reference document" in html and "Duplicate property code" in html
    assert _rows(draft) == before
    assert _fresh(draft).row_version == draft.row_version
    with scopes_disabled("test"):
        assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("content, fmt, message", [
    (b"\xff\xfe\x00bad", "csv", "not UTF-8"),
    (b"{not json", "json", "not valid JSON"),
    (b'{"requirements": 3}', "json", "Expected a list"),
    (b"code,name\nx,y\n", "csv", "Missing column"),
    (b"property_code,property_name,colour\nx,y,red\n", "csv", "Unknown column"),
    (b"[]", "json", "holds no requirement"),
    (b'[{"property_code": "a", "property_name": "A", "upper_limit": "1", "extra": 1}]', "json", "Unknown column"),
])
def test_import_file_level_errors(world, content, fmt, message):
    with tenant_scope(world.a.body):
        with pytest.raises(exchange.ImportRejected) as exc:
            exchange.parse_requirements(content, fmt)
    assert any(message in e.message for e in exc.value.errors), exc.value.errors


def test_stale_import_is_refused(world, login):
    a = world.a
    client = login(a.officer)
    draft = a.regulation_draft
    before = _rows(draft)
    response = client.post(reverse("staff:version-import", args=[draft.pk]), {
        "row_version": draft.row_version - 1, "format": "csv",
        "file": SimpleUploadedFile("good.csv", GOOD_CSV.encode())})
    assert response.status_code == 409
    assert _rows(draft) == before


# --- tenant scoping -------------------------------------------------------------------------------------

def test_other_body_cannot_see_or_edit(world, login):
    a, b = world.a, world.b
    client = login(b.admin)
    listing = client.get(reverse("staff:regulation-list")).content.decode()
    assert SECRET not in listing
    assert f'href="{reverse("staff:regulation-detail", args=[a.regulation.pk])}"' not in listing
    assert f'href="{reverse("staff:regulation-detail", args=[b.regulation.pk])}"' in listing
    for name, pk in (("staff:version-detail", a.regulation_version.pk), ("staff:version-edit", a.regulation_draft.pk),
                     ("staff:version-export-json", a.regulation_version.pk),
                     ("staff:regulation-detail", a.regulation.pk)):
        assert client.get(reverse(name, args=[pk])).status_code == 404
    before = _rows(a.regulation_draft)
    data = edit_payload(a.regulation_draft)
    assert client.post(reverse("staff:version-edit", args=[a.regulation_draft.pk]), data).status_code == 404
    response = client.post(reverse("staff:version-import", args=[a.regulation_draft.pk]), {
        "row_version": a.regulation_draft.row_version, "format": "csv",
        "file": SimpleUploadedFile("good.csv", GOOD_CSV.encode())})
    assert response.status_code == 404
    response = client.post(reverse("staff:version-publish", args=[a.regulation_draft.pk]), {
        "row_version": a.regulation_draft.row_version, "effective_date": "2030-01-01"})
    assert response.status_code == 404
    assert _rows(a.regulation_draft) == before and _fresh(a.regulation_draft).status == "draft"
    # B's own edit form cannot smuggle A's requirement rows in
    b_data = edit_payload(b.regulation_draft)
    with scopes_disabled("test"):
        a_req = a.regulation_draft.requirements.first()
    b_data["req-0-id"] = str(a_req.pk)
    b_data["req-0-upper_limit"] = "1"
    client.post(reverse("staff:version-edit", args=[b.regulation_draft.pk]), b_data)
    assert _rows(a.regulation_draft) == before
    # the compare page does not accept A's version as the "other"
    response = client.get(reverse("staff:version-compare", args=[b.regulation_draft.pk])
                          + f"?other={a.regulation_version.pk}")
    assert response.status_code == 200 and SECRET not in response.content.decode()


def test_api_regulations_are_read_only_and_tenant_scoped(world, login):
    a, b = world.a, world.b
    client = login(a.admin)
    response = client.get("/api/v1/regulations/")
    assert response.status_code == 200
    data = response.json()
    results = data["results"] if isinstance(data, dict) and "results" in data else data
    with scopes_disabled("test"):  # other apps' worlds add regulations too: expect exactly body A's, none of B's
        own = dict(Regulation.objects.filter(body=a.body).values_list("pk", "code"))
        foreign = set(Regulation.objects.filter(body=b.body).values_list("pk", flat=True))
    assert a.regulation.pk in own and foreign and not foreign & own.keys()
    assert {r["id"]: r["code"] for r in results} == own and len(results) == len(own)
    mine = next(r for r in results if r["id"] == a.regulation.pk)
    assert mine["code"] == "TRA 11"
    assert {v["status"] for v in mine["versions"]} == {"published", "draft"}
    response = client.get(f"/api/v1/regulation-versions/{a.regulation_version.pk}/")
    assert response.status_code == 200
    version = response.json()
    assert version["requirements"][0]["property_code"] == "binder-content"
    assert version["requirements"][0]["test_method"] == "EN 12697-1:2020"
    assert version["checklist"][0]["code"] == "FPC-1" and version["reference_documents"][0]["code"]
    response = client.get(f"/api/v1/regulation-versions/?regulation={a.regulation.pk}&status=published")
    data = response.json()
    results = data["results"] if isinstance(data, dict) and "results" in data else data
    assert [v["id"] for v in results] == [a.regulation_version.pk]
    assert client.post("/api/v1/regulations/", {}, content_type="application/json").status_code == 405
    assert client.delete(f"/api/v1/regulation-versions/{a.regulation_version.pk}/").status_code == 405
    client = login(b.admin)
    assert client.get(f"/api/v1/regulation-versions/{a.regulation_version.pk}/").status_code == 404
    assert client.get(f"/api/v1/regulations/{a.regulation.pk}/").status_code == 404
    body = client.get("/api/v1/regulation-versions/").content.decode()
    assert SECRET not in body
    client = login(None)
    assert client.get("/api/v1/regulations/").status_code in (401, 403)
    assert client.get("/api/v1/marks/").status_code == 200


def test_isolation_routes_registered():
    from tests import isolation

    names = {route.name for route in isolation.iter_routes()}
    mine = {n for n in names if n.startswith("staff:version-") or n.startswith("staff:regulation-")
            or n.startswith("api:regulation")}
    object_routes = {n for n in mine if not n.endswith("-list") and n != "staff:regulation-create"}
    assert object_routes <= set(isolation.ROUTES), object_routes - set(isolation.ROUTES)


def test_inspection_plans_page_for_planners(world, login):
    from licences.models import Licence, Site

    a = world.a
    with tenant_scope(a.body):
        site = Site.objects.create(body=a.body, holder=a.holder, name="Plant")
        Licence.objects.create(body=a.body, holder=a.holder, site=site, mark=a.regulation.mark,
                               regulation_version=a.regulation_version, number="COPRO-A-0042",
                               state="active", inspection_regime="reinforced", granted_on=date(2020, 1, 1))
    response = login(a.admin).get(reverse("staff:inspection-plans") + "?year=2026")
    html = response.content.decode()
    assert response.status_code == 200
    assert "COPRO-A-0042" in html and "<td>8</td><td>2</td><td>4</td>" in html  # reinforced: 8 visits, 2 unannounced
    response = login(world.b.admin).get(reverse("staff:inspection-plans") + "?year=2026")
    assert "COPRO-A-0042" not in response.content.decode()


def test_regulation_pdf_upload_and_download(world, login, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    a = world.a
    client = login(a.officer)
    url = reverse("staff:version-edit", args=[a.regulation_draft.pk])
    data = edit_payload(a.regulation_draft)
    data["v-document"] = SimpleUploadedFile("tra.txt", b"not a pdf", content_type="text/plain")
    response = client.post(url, data)
    assert response.status_code == 400 and "Upload the regulation as a PDF file." in response.content.decode()
    data = edit_payload(a.regulation_draft)
    data["v-document"] = SimpleUploadedFile("tra11.pdf", b"%PDF-1.4 demo", content_type="application/pdf")
    assert client.post(url, data).status_code == 302
    download = client.get(reverse("staff:version-document", args=[a.regulation_draft.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4 demo"
    assert login(world.b.admin).get(reverse("staff:version-document", args=[a.regulation_draft.pk])).status_code == 404
    assert login(a.admin).get(reverse("staff:version-document", args=[a.regulation_version.pk])).status_code == 404


def test_ocl_fields_are_validated_exported_and_compared(world, login):
    """EN 13108-21 OCL constants are regulation data: imported, validated, exported and compared."""
    a = world.a
    client = login(a.officer)
    draft = a.regulation_draft
    header = "property_code,property_name,unit,lower_limit,upper_limit,conformity_rule,ocl_limit_a,ocl_limit_b," \
             "ocl_tonnes_a,ocl_tonnes_b,ocl_tonnes_c,ocl_start_level,ocl_escalate_at_c,finding_severity\n"
    bad = header + ("binder-content,Binder,%,5.2,6.2,en13108_21,0.35,0.25,600/1000,x,150/250/500,D,maybe,fatal\n"
                    "passing-2mm,2 mm,%,28,38,en13108_21,3.0,,600/1000/2000,300/500/1000,150/250/500,C,no,minor\n")
    response = client.post(reverse("staff:version-import", args=[draft.pk]), {
        "row_version": draft.row_version, "format": "csv", "file": SimpleUploadedFile("bad.csv", bad.encode())})
    assert response.status_code == 400
    errors = {(e.row, e.column) for e in response.context["errors"]}
    assert {(2, "ocl_limit_b"), (2, "ocl_tonnes_a"), (2, "ocl_tonnes_b"), (2, "ocl_start_level"),
            (2, "ocl_escalate_at_c"), (2, "finding_severity"), (3, "ocl_limit_b")} <= errors
    good = header + "binder-content,Binder,%,5.2,6.2,en13108_21,0.20,0.30,500,250/400/800,100,B,true,minor\n"
    draft = _fresh(draft)
    response = client.post(reverse("staff:version-import", args=[draft.pk]), {
        "row_version": draft.row_version, "format": "csv", "file": SimpleUploadedFile("good.csv", good.encode())})
    assert response.status_code == 302
    with scopes_disabled("test"):
        req = _fresh(draft).requirements.get()
        assert (req.ocl_limit_a, req.ocl_limit_b, req.ocl_start_level, req.ocl_escalate_at_c,
                req.finding_severity) == (Decimal("0.2"), Decimal("0.3"), "B", True, "minor")
        assert req.ocl_tonnes_per_test("A", "Z") == Decimal(500) and req.ocl_tonnes_per_test("B", "Y") == Decimal(400)
    exported = list(csv.DictReader(io.StringIO(client.get(
        reverse("staff:version-export-csv", args=[draft.pk])).content.decode())))
    assert exported[0]["ocl_limit_a"] == "0.2" and exported[0]["ocl_tonnes_b"] == "250/400/800"
    assert exported[0]["ocl_escalate_at_c"] == "true"
    page = client.get(reverse("staff:version-detail", args=[draft.pk])).content.decode()
    assert "A ≤ 0.2000, B ≤ 0.3000" in page and "A 500, B 250/400/800, C 100; start B; C is a nonconformity" in page
    with tenant_scope(a.body):
        from marks.selectors import compare_versions

        diff = compare_versions(a.regulation_version, _fresh(draft))
    changed = {c["key"]: {f[0] for f in c["fields"]} for c in diff["requirements"]["changed"]}
    assert {"ocl_limit_a", "ocl_limit_b", "ocl_start_level", "ocl_escalate_at_c"} <= changed["binder-content"]
