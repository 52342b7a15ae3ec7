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
        # the import evaluates each touched product/property: binder content (EN 13108-21) has 2 of the 32
        # results the OCL needs → start level C, "insufficient" (|5.02−5| + |4.4−5| = .62, mean .31 so far);
        # strength (EN 206) 1 result → insufficient
        outcomes = {o.requirement.property_code: o for o in ConformityOutcome.objects.select_related("requirement")}
        assert (outcomes["binder-content"].level, outcomes["binder-content"].verdict) == ("C", "insufficient")
        assert outcomes["binder-content"].details["mean_abs_deviation"] == "0.3100"
        assert outcomes["binder-content"].status == "no_action"
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
    # binder content follows EN 13108-21: fewer than 32 results → OCL C; output level not declared → X:
    # 1 test per 150 t. Batches B1 480 t, B2 510 t, B3 400 t → 1 390 t → ceil(9.27) = 10 expected.
    # Only 2 binder results recorded → 8 missing. Compressive strength: 1 per week over 14 days → 2 expected, 1 done.
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
    assert (lines["binder-content"].expected, lines["binder-content"].recorded) == (10, 2)
    assert (lines["binder-content"].level, lines["binder-content"].every) == ("C", D(150))
    assert lines["binder-content"].missing == 8
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
        # EN 13108-21 on binder content, target 5.0 (declared), limits A 0.25, B 0.35:
        # 32 × 5.4 → |d| = 0.4 each, mean 0.4 > 0.35 → OCL C. This regulation does not treat C as a
        # nonconformity: it conforms, and the frequency rises to 1 per 150 t (OCL C, output level X).
        for day in range(1, 33):
            services.do_record_self_monitoring(holder=env.holder, product=env.lic.product, property_code="binder-content",
                                               tested_on=date(2025, 12, 1) + timedelta(days=day), value=D("5.4"),
                                               unit="%", by=None)
        outcome = services.do_evaluate_self_monitoring(product=env.lic.product, requirement=env.reg.binder)
        assert (outcome.level, outcome.verdict, outcome.proposed_escalation) == ("C", "pass", "")
        assert outcome.details["mean_abs_deviation"] == "0.4000"
        # EN 206 on strength, fck 30: 36, 33, 35 → mean 34.667 ≥ 34, lowest 33 ≥ 26 → conforms
        for day, value in [(1, "36"), (2, "33"), (3, "35")]:
            services.do_record_self_monitoring(holder=env.holder, product=env.lic.product,
                                               property_code="compressive-strength", tested_on=date(2026, 1, day),
                                               value=D(value), unit="MPa", by=None)
        outcome = services.do_evaluate_self_monitoring(product=env.lic.product, requirement=env.reg.strength)
        assert outcome.verdict == "pass" and outcome.status == ConformityOutcome.Status.NO_ACTION
        assert outcome.details["mean"] == "34.6667"


def test_ocl_sets_the_frequency_at_the_declared_output_level(env):
    # 32 binder results, deviations +0.1/−0.1 from 5.0 → mean |d| 0.1 ≤ 0.25 → OCL A. Output level Y declared:
    # 1 test per 1 000 t. Batches: 32 × 150 t = 4 800 t → ceil(4.8) = 5 expected, 32 recorded, none missing.
    with tenant_scope(env.body):
        product = env.lic.product
        product.declared_characteristics = {"binder-content": "5.0", "output_level": "Y"}
        product.save()
        for day in range(32):
            services.do_record_self_monitoring(
                holder=env.holder, product=product, property_code="binder-content",
                tested_on=date(2026, 1, 1) + timedelta(days=day), batch=f"B{day}", tonnage=D(150),
                value=D("5.1") if day % 2 else D("4.9"), unit="%", by=None)
        line = next(line for line in selectors.frequency_check(product, date(2026, 1, 1), date(2026, 2, 1))
                    if line.requirement.property_code == "binder-content")
        assert (line.level, line.every, line.expected, line.missing) == ("A", D(1000), 5, 0)
        # the window ending before the 32nd result holds 31 results → start level C: 1 per 250 t at Y;
        # 31 batches × 150 t = 4 650 t → ceil(18.6) = 19 expected, 31 recorded
        line = next(line for line in selectors.frequency_check(product, date(2026, 1, 1), date(2026, 1, 31))
                    if line.requirement.property_code == "binder-content")
        assert (line.level, line.every, line.expected, line.recorded) == ("C", D(250), 19, 31)


def test_monthly_review_raises_one_finding_per_incomplete_product_and_tells_the_holder(env, mailoutbox,
                                                                                       django_capture_on_commit_callbacks):
    from django.core.management import call_command

    from inspections.models import Finding
    from sampling.models import SelfMonitoringReview

    with tenant_scope(env.body):
        env.holder.email = "quality@holder.test"
        env.holder.save(update_fields=["email"])
        product = env.lic.product
        for day, batch, tonnes, code, value, unit in [
            (date(2026, 1, 5), "B1", "480", "binder-content", "5.0", "%"),
            (date(2026, 1, 12), "B2", "510", "binder-content", "5.1", "%"),
            (date(2026, 1, 19), "B3", "400", "compressive-strength", "40", "MPa"),
            (date(2026, 2, 2), "B4", "300", "binder-content", "5.0", "%"),  # February: not in January's review
        ]:
            services.do_record_self_monitoring(holder=env.holder, product=product, property_code=code, tested_on=day,
                                               batch=batch, tonnage=D(tonnes), value=D(value), unit=unit, by=None)
        with django_capture_on_commit_callbacks(execute=True):
            counts = services.run_self_monitoring_reviews(today=date(2026, 2, 10))
        # January: binder content 1 390 t at OCL C (1 per 150 t) → 10 expected, 2 recorded; compressive strength
        # 1 a week over 31 days → ceil(4.43) = 5 expected, 1 recorded. The other holder's product recorded
        # nothing: no production, so no binder test is due, but 5 weekly strength tests are.
        assert counts == {"reviewed": 2, "incomplete": 2}
        review = SelfMonitoringReview.objects.get(product=product)
        assert (review.period_start, review.period_end) == (date(2026, 1, 1), date(2026, 1, 31))
        assert {m["property_code"]: (m["expected"], m["recorded"]) for m in review.missing} == {
            "binder-content": (10, 2), "compressive-strength": (5, 1)}
        finding = review.finding
        assert finding.severity == Finding.Severity.MINOR and finding.visit.licence_id == env.lic.licence.pk
        assert "2 of 10 required tests recorded" in finding.description
        assert AuditEvent.objects.filter(action="self_monitoring.review", object_id=str(review.pk)).exists()
        # Run again (the beat job runs daily): nothing new.
        findings = Finding.objects.count()
        assert services.run_self_monitoring_reviews(today=date(2026, 2, 11)) == {"reviewed": 0, "incomplete": 0}
        assert Finding.objects.count() == findings
    assert [m.to for m in mailoutbox] == [["quality@holder.test"]]  # the other holder has no address
    assert "- Soluble binder content: 2 of 10 tests" in mailoutbox[0].body
    call_command("review_self_monitoring", "--body", "smb", "--today", "2026-02-12")
    with tenant_scope(env.body):
        assert SelfMonitoringReview.objects.count() == 2


def test_complete_self_monitoring_raises_nothing(env):
    from sampling.models import SelfMonitoringReview

    with tenant_scope(env.body):
        review = services.do_review_self_monitoring(product=env.other_lic.product, licence=env.other_lic.licence,
                                                    period_start=date(2025, 12, 1), period_end=date(2025, 12, 6))
        # 6 days: 1 weekly strength test is due (ceil(6/7) = 1) and none was recorded → missing; record it and
        # review another, equally short period: complete.
        assert [m["property_code"] for m in review.missing] == ["compressive-strength"]
        services.do_record_self_monitoring(holder=env.other, product=env.other_lic.product,
                                           property_code="compressive-strength", tested_on=date(2025, 12, 9),
                                           value=D("41"), unit="MPa", by=None)
        complete = services.do_review_self_monitoring(product=env.other_lic.product, licence=env.other_lic.licence,
                                                      period_start=date(2025, 12, 8), period_end=date(2025, 12, 13))
        assert complete.missing == [] and complete.finding is None
        assert SelfMonitoringReview.objects.filter(product=env.other_lic.product).count() == 2


def test_review_beat_job_fans_out_per_body_and_the_body_task_runs_in_its_scope(env, monkeypatch):
    from django.conf import settings

    from certification.tenancy import current_scope
    from sampling import tasks

    queued = []
    monkeypatch.setattr(tasks.review_self_monitoring_for_body, "delay", queued.append)
    assert tasks.review_self_monitoring() == len(queued) and env.body.pk in queued
    counts = tasks.review_self_monitoring_for_body(env.body.pk)  # the task's code, in-process: last month
    assert counts["reviewed"] == 2 and current_scope() is None
    assert tasks.review_self_monitoring_for_body(env.body.pk)["reviewed"] == 0  # already reviewed
    assert settings.CELERY_BEAT_SCHEDULE["sampling-self-monitoring-review"]["task"] == (
        "sampling.tasks.review_self_monitoring")
