"""Self-monitoring: portal, CSV (all-or-nothing with every bad row reported), API, frequencies, charts."""

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from certification import services as body_services
from certification.models import AuditEvent, Role
from certification.tenancy import tenant_scope
from licences.models import HolderMembership
from licences.services import do_add_holder_user, do_register_holder
from sampling import charts, demo, selectors, services
from sampling.models import ConformityOutcome, SelfMonitoringImport, SelfMonitoringResult

pytestmark = pytest.mark.django_db


@pytest.fixture
def env():
    body = body_services.do_create_body(code="smb", name="SM Body")
    with tenant_scope(body):
        holder = do_register_holder(body=body, name="Holder", company_number="BE0403170701")
        other = do_register_holder(body=body, name="Other", company_number="BE0202239951")
        user = do_add_holder_user(holder=holder, email="m@h.test", role=HolderMembership.Role.MANAGER).user
        other_user = do_add_holder_user(holder=other, email="m@o.test").user
        staff = body_services.do_add_member(body=body, email="officer@smb.test", role=Role.OFFICER).user
        ref = demo.reference_data()
        reg = demo.build_regulation(body, ref)
        lic = demo.build_licence(body, holder, ref, reg.version, number="L-SM", quick_code="96660001")
        other_lic = demo.build_licence(body, other, ref, reg.version, number="L-OT", quick_code="96660002")
    return type("Env", (), dict(body=body, holder=holder, other=other, user=user, other_user=other_user, staff=staff,
                                reg=reg, lic=lic, other_lic=other_lic))


def count(env):
    with tenant_scope(env.body):
        return (SelfMonitoringResult.objects.count(), SelfMonitoringImport.objects.count(),
                AuditEvent.objects.filter(action__startswith="self_monitoring").count())


GOOD = """product,property,date,batch,tonnage,value,unit
96660001,binder-content,2026-01-05,B1,480,5.02,%
96660001,binder-content,2026-01-06,B2,510,4.4,%
96660001,compressive-strength,2026-01-06,B2,,41.5,MPa
"""

BAD = """product,property,date,batch,tonnage,value,unit
96660001,binder-content,2026-01-05,B1,480,5.02,%
99999999,binder-content,2026-01-05,B1,480,5.02,%
96660001,colour,2026-01-05,B1,480,5.02,%
96660001,binder-content,05/01/2026,B1,480,5.02,%
96660001,binder-content,2026-01-05,B1,480,abc,%
96660001,binder-content,2026-01-05,B1,480,5.02,kg
96660002,binder-content,2026-01-05,B1,480,5.02,%
96660001,binder-content,2026-01-05,B1,-3,170,%
96660001,compressive-strength,2026-01-06,B2,,41.5,MPa
"""


def test_bad_csv_changes_nothing_and_reports_every_bad_row(env, login):
    before = count(env)
    with tenant_scope(env.body), pytest.raises(services.ImportRejected) as caught:
        services.do_import_self_monitoring(holder=env.holder, text=BAD, filename="bad.csv", by=env.user)
    rows = caught.value.rows
    assert sorted({line for line, _, _ in rows}) == [3, 4, 5, 6, 7, 8, 9]  # lines 2 and 10 are fine
    assert (3, "product") in {(line, f) for line, f, _ in rows}
    assert (4, "property") in {(line, f) for line, f, _ in rows}
    assert (5, "date") in {(line, f) for line, f, _ in rows}
    assert (6, "value") in {(line, f) for line, f, _ in rows}
    assert (7, "unit") in {(line, f) for line, f, _ in rows}
    assert (8, "product") in {(line, f) for line, f, _ in rows}  # another holder's product
    assert {(9, "tonnage"), (9, "value")} <= {(line, f) for line, f, _ in rows}  # both problems of line 9
    assert count(env) == before
    with tenant_scope(env.body):
        assert not ConformityOutcome.objects.exists()

    # Through the portal page: 400, every bad row listed, still nothing saved.
    client = login(env.user)
    response = client.post(reverse("portal:self-monitoring-upload"),
                           {"file": SimpleUploadedFile("bad.csv", BAD.encode())})
    page = response.content.decode()
    assert response.status_code == 400
    for line in (3, 4, 5, 6, 7, 8, 9):
        assert f"<td>{line}</td>" in page
    assert "nothing was imported" in page
    assert count(env) == before


def test_good_csv_imports_everything(env, login):
    client = login(env.user)
    response = client.post(reverse("portal:self-monitoring-upload"),
                           {"file": SimpleUploadedFile("ok.csv", GOOD.encode())})
    assert response.status_code == 302
    with tenant_scope(env.body):
        results = list(SelfMonitoringResult.objects.order_by("id"))
        assert len(results) == 3 and all(r.source == "csv" for r in results)
        assert [r.within_limits for r in results] == [True, False, True]  # 4.4 < 4.5
        assert SelfMonitoringImport.objects.get().rows == 3
    assert count(env)[2] == 1  # one audit event for the import
    with tenant_scope(env.body):
        # the import evaluates each touched product/property: binder content (EN 13108-21, target 5.0, T 0.3)
        # |5.02−5| + |4.4−5| = .02 + .6 = .62; mean .31; ratio 1.0333 → D; strength (EN 206) 1 result → insufficient
        outcomes = {o.requirement.property_code: o for o in ConformityOutcome.objects.select_related("requirement")}
        assert (outcomes["binder-content"].level, outcomes["binder-content"].status) == ("D", "proposed")
        assert outcomes["binder-content"].details["ratio"] == "1.0333"
        assert outcomes["compressive-strength"].verdict == "insufficient"


def test_header_and_empty_files_are_rejected(env):
    with tenant_scope(env.body):
        with pytest.raises(services.ImportRejected) as caught:
            services.do_import_self_monitoring(holder=env.holder, text="a,b\n1,2\n", filename="x.csv", by=env.user)
        assert caught.value.rows[0][1] == "header"
        with pytest.raises(services.ImportRejected):
            services.do_import_self_monitoring(holder=env.holder, text=GOOD.splitlines()[0] + "\n", filename="x.csv",
                                               by=env.user)


def test_portal_form_and_api(env, login):
    client = login(env.user)
    response = client.post(reverse("portal:self-monitoring"), {
        "product": env.lic.product.pk, "property_code": "binder-content", "tested_on": "2026-01-02",
        "value": "5.1", "unit": "%", "batch": "P1", "tonnage": "100"})
    assert response.status_code == 302
    response = client.post(reverse("portal:self-monitoring"), {
        "product": env.other_lic.product.pk, "property_code": "binder-content", "tested_on": "2026-01-02",
        "value": "5.1", "unit": "%"})
    assert response.status_code == 200  # another holder's product is not a choice
    url = reverse("api:self-monitoring-list")
    ok = client.post(url, {"product": "96660001", "property_code": "binder-content", "tested_on": "2026-01-03",
                           "value": "5.0", "unit": "%"}, content_type="application/json")
    assert ok.status_code == 201 and ok.json()["within_limits"] is True
    bad = client.post(url, {"product": "96660002", "property_code": "binder-content", "tested_on": "2026-01-03",
                            "value": "5.0", "unit": "%"}, content_type="application/json")
    assert bad.status_code == 400 and "product" in bad.json()
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    bad = client.post(url, {"product": "96660001", "property_code": "binder-content", "tested_on": future,
                            "value": "5.0", "unit": "%"}, content_type="application/json")
    assert bad.status_code == 400 and "tested_on" in bad.json()
    assert len(client.get(url).json()["results"]) == 2
    # the other holder sees none of it
    assert login(env.other_user).get(url).json()["results"] == []


def test_missing_tests_are_flagged(env, login):
    # binder content: 1 test per 500 t. Batches B1 480 t, B2 510 t, B3 400 t → 1 390 t → ceil(2.78) = 3 expected.
    # Only 2 binder results recorded → 1 missing. Compressive strength: 1 per week over 14 days → 2 expected, 1 done.
    with tenant_scope(env.body):
        product = env.lic.product
        for day, batch, tonnes, code, value, unit in [
            (date(2026, 1, 1), "B1", "480", "binder-content", "5.0", "%"),
            (date(2026, 1, 2), "B2", "510", "binder-content", "5.1", "%"),
            (date(2026, 1, 3), "B3", "400", "compressive-strength", "40", "MPa"),
        ]:
            services.do_record_self_monitoring(holder=env.holder, product=product, property_code=code, tested_on=day,
                                               batch=batch, tonnage=D(tonnes), value=D(value), unit=unit, by=None)
        lines = {line.requirement.property_code: line
                 for line in selectors.frequency_check(product, date(2026, 1, 1), date(2026, 1, 14))}
    assert (lines["binder-content"].expected, lines["binder-content"].recorded) == (3, 2)
    assert lines["binder-content"].missing == 1
    assert (lines["compressive-strength"].expected, lines["compressive-strength"].missing) == (2, 1)
    page = login(env.user).get(reverse("portal:self-monitoring") + "?days=3660").content.decode()
    assert "missing" in page


def test_control_chart_marks_failed_points(env, login):
    with tenant_scope(env.body):
        for day, value in [(1, "5.0"), (2, "5.7"), (3, "4.9")]:
            services.do_record_self_monitoring(holder=env.holder, product=env.lic.product, property_code="binder-content",
                                               tested_on=date(2026, 1, day), value=D(value), unit="%", by=None)
    url = reverse("portal:self-monitoring-chart", kwargs={"product_pk": env.lic.product.pk,
                                                          "property_code": "binder-content"})
    svg = login(env.user).get(url).content.decode()
    assert svg.count('class="point failed"') == 1 and svg.count('class="point ok"') == 2
    assert "upper limit 5.5" in svg and "lower limit 4.5" in svg
    assert "2026-01-02: 5.7000 (self) — FAILED" in svg
    other = reverse("portal:self-monitoring-chart", kwargs={"product_pk": env.other_lic.product.pk,
                                                            "property_code": "binder-content"})
    assert login(env.user).get(other).status_code == 404
    assert "No results yet" in charts.control_chart_svg([])


def test_self_monitoring_evaluation_by_rule(env):
    with tenant_scope(env.body):
        # EN 13108-21 on binder content, target 5.0 (declared), tolerance 0.3:
        # |5.4−5|×4 → mean .4 → ratio 1.333 → level D → warning proposed
        for day in range(1, 5):
            services.do_record_self_monitoring(holder=env.holder, product=env.lic.product, property_code="binder-content",
                                               tested_on=date(2026, 1, day), value=D("5.4"), unit="%", by=None)
        outcome = services.do_evaluate_self_monitoring(product=env.lic.product, requirement=env.reg.binder)
        assert (outcome.level, outcome.verdict, outcome.proposed_escalation) == ("D", "fail", "warning")
        # EN 206 on strength, fck 30: 36, 33, 35 → mean 34.667 ≥ 34, lowest 33 ≥ 26 → conforms
        for day, value in [(1, "36"), (2, "33"), (3, "35")]:
            services.do_record_self_monitoring(holder=env.holder, product=env.lic.product,
                                               property_code="compressive-strength", tested_on=date(2026, 1, day),
                                               value=D(value), unit="MPa", by=None)
        outcome = services.do_evaluate_self_monitoring(product=env.lic.product, requirement=env.reg.strength)
        assert outcome.verdict == "pass" and outcome.status == ConformityOutcome.Status.NO_ACTION
        assert outcome.details["mean"] == "34.6667"
