"""A sample from the visit to a lab result to a conformity outcome, with custody, corrections and lab isolation."""

import io
from datetime import timedelta
from decimal import Decimal as D
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from certification import services as body_services
from certification.models import AppendOnlyError, AuditEvent, Role
from certification.tenancy import tenant_scope
from inspections.models import Visit
from licences.services import do_register_holder
from sampling import demo, selectors, services
from sampling.models import ConformityOutcome, CustodyEvent, Laboratory, LaboratoryMembership, LabResult, Sample

pytestmark = pytest.mark.django_db


@pytest.fixture
def env():
    body = body_services.do_create_body(code="sbody", name="Sampling Body")
    with tenant_scope(body):
        ns = SimpleNamespace(body=body)
        ns.officer = body_services.do_add_member(body=body, email="officer@s.test", role=Role.OFFICER).user
        ns.inspector = body_services.do_add_member(body=body, email="insp@s.test", role=Role.INSPECTOR).user
        ns.inspector2 = body_services.do_add_member(body=body, email="insp2@s.test", role=Role.INSPECTOR).user
        ns.holder = do_register_holder(body=body, name="Holder", company_number="BE0403170701")
        ref = demo.reference_data()
        ns.lab = services.do_recognise_laboratory(body=body, name="Lab 1", test_methods=[ref.binder_method])
        ns.lab_user = services.do_add_lab_user(laboratory=ns.lab, email="lab1@s.test").user
        ns.lab2 = services.do_recognise_laboratory(body=body, name="Lab 2")
        ns.lab2_user = services.do_add_lab_user(laboratory=ns.lab2, email="lab2@s.test").user
        ns.reg = demo.build_regulation(body, ref)
        ns.lic = demo.build_licence(body, ns.holder, ref, ns.reg.version, number="L-1", quick_code="95550001")
        today = timezone.localdate()
        for offset, value in enumerate(["5.02", "4.96", "5.05", "4.98", "5.01", "5.03"]):
            services.do_record_self_monitoring(holder=ns.holder, product=ns.lic.product, property_code="binder-content",
                                               tested_on=today - timedelta(days=offset), value=D(value), unit="%",
                                               by=None)
        ns.visit = Visit.objects.create(body=body, licence=ns.lic.licence, site=ns.lic.site, planned_for=today,
                                        state=Visit.State.IN_PROGRESS, inspector=ns.inspector)
    return ns


def test_sample_from_visit_to_lab_result_to_outcome_through_the_pages(env, login):
    # Inspector takes the sample on the visit page, prints its label, dispatches it.
    client = login(env.inspector)
    url = reverse("inspector:sample-take", kwargs={"visit_pk": env.visit.pk})
    assert client.get(url).status_code == 200
    response = client.post(url, {"product": env.lic.product.pk, "requirements": [env.reg.binder.pk],
                                 "seal_number": "SEAL-77", "quantity": "2 × 10 kg", "batch": "B-12",
                                 "production_date": timezone.localdate().isoformat()})
    assert response.status_code == 302
    with tenant_scope(env.body):
        sample = Sample.objects.get(visit=env.visit)
    assert sample.code == f"SBODY-S{timezone.now():%Y}-00001" and sample.state == "taken"

    label = client.get(reverse("inspector:sample-label", kwargs={"pk": sample.pk}))
    assert label["Content-Type"] == "application/pdf"
    text = PdfReader(io.BytesIO(label.content)).pages[0].extract_text()
    assert sample.code in text and "SEAL-77" in text and "B-12" in text

    response = client.post(reverse("inspector:sample-detail", kwargs={"pk": sample.pk}), {"laboratory": env.lab.pk})
    assert response.status_code == 302

    # The lab receives it, enters a result, reports.
    client = login(env.lab_user)
    assert sample.code in client.get(reverse("lab:home")).content.decode()
    client.post(reverse("lab:sample-receive", kwargs={"pk": sample.pk}))
    detail = reverse("lab:sample-detail", kwargs={"pk": sample.pk})
    bad = client.post(detail, {"requirement": env.reg.binder.pk, "value": "5.62", "unit": "kg",
                               "tested_on": timezone.localdate().isoformat()})
    assert bad.status_code == 200 and "The unit must be" in bad.content.decode()
    response = client.post(detail, {"requirement": env.reg.binder.pk, "value": "5.62", "unit": "%",
                                    "uncertainty": "0.10", "tested_on": timezone.localdate().isoformat()})
    assert response.status_code == 302
    client.post(reverse("lab:sample-report", kwargs={"pk": sample.pk}))

    with tenant_scope(env.body):
        sample.refresh_from_db()
        assert sample.state == "reported"
        assert list(CustodyEvent.objects.filter(sample=sample).values_list("step", flat=True)) == [
            "taken", "dispatched", "received", "tested", "reported"]
        steps = {e.step: e.by for e in CustodyEvent.objects.filter(sample=sample)}
        assert steps["taken"] == env.inspector and steps["reported"] == env.lab_user
        outcomes = {o.kind: o for o in ConformityOutcome.objects.filter(sample=sample)}
    # 5.62 > 5.5 (upper limit) → counter-test; 5.62 vs holder mean 5.0083 differs by 0.61 > 0.3 → extra sample
    assert outcomes["lab_individual"].verdict == "fail"
    assert outcomes["lab_individual"].proposed_escalation == "counter_test"
    assert outcomes["comparison"].verdict == "fail"
    assert outcomes["comparison"].proposed_escalation == "extra_sample"
    assert outcomes["comparison"].status == "proposed"

    # Staff see the proposals and decide; the decision is audited.
    client = login(env.officer)
    page = client.get(reverse("staff:conformity-outcomes")).content.decode()
    assert sample.code in page and "Extra sample" in page
    decide = reverse("staff:conformity-decide", kwargs={"pk": outcomes["comparison"].pk})
    client.post(decide, {"decision": "dismiss", "reason": ""})
    with tenant_scope(env.body):
        assert ConformityOutcome.objects.get(pk=outcomes["comparison"].pk).status == "proposed"  # reason needed
    client.post(decide, {"decision": "accept", "reason": "Take an extra sample next visit"})
    with tenant_scope(env.body):
        outcome = ConformityOutcome.objects.get(pk=outcomes["comparison"].pk)
        assert (outcome.status, outcome.decided_by) == ("accepted", env.officer)
        event = AuditEvent.objects.filter(action="conformity.accepted").get()
        assert event.actor == env.officer and event.reason == "Take an extra sample next visit"
    chart = client.get(reverse("staff:control-chart", kwargs={"product_pk": env.lic.product.pk,
                                                              "property_code": "binder-content"}))
    assert chart.status_code == 200 and 'class="point failed"' in chart.content.decode()


def _sample(env, **kwargs):
    return services.do_take_sample(visit=env.visit, product=env.lic.product, by=env.inspector, seal_number="S1",
                                   quantity="1 kg", requirements=[env.reg.binder], **kwargs)


def test_no_sample_on_a_cancelled_visit(env):
    with tenant_scope(env.body):
        Visit.objects.filter(pk=env.visit.pk).update(state=Visit.State.CANCELLED)
        with pytest.raises(ValidationError, match="cancelled"):
            _sample(env)
        assert not Sample.objects.exists()


def test_only_the_assigned_inspector_takes_samples(env, login):
    with tenant_scope(env.body), pytest.raises(ValidationError):
        services.do_take_sample(visit=env.visit, product=env.lic.product, by=env.inspector2, seal_number="S",
                                quantity="1 kg")
    client = login(env.inspector2)
    url = reverse("inspector:sample-take", kwargs={"visit_pk": env.visit.pk})
    assert client.get(url).status_code == 404
    assert client.post(url, {"product": env.lic.product.pk, "seal_number": "X", "quantity": "1"}).status_code == 404
    with tenant_scope(env.body):
        assert not Sample.objects.exists()


def test_custody_order_is_enforced(env):
    with tenant_scope(env.body):
        sample = _sample(env)
        with pytest.raises(ValidationError):  # not yet dispatched to any lab: no grant, no reception
            services.do_receive_sample(sample=sample, by=env.lab_user)
        with pytest.raises(services.CustodyOrderError):  # results before reception
            services.do_dispatch_sample(sample=sample, laboratory=env.lab, by=env.inspector)
            services.do_record_lab_result(sample=sample, requirement=env.reg.binder, value=D("5"), unit="%",
                                          by=env.lab_user)
        with pytest.raises(services.CustodyOrderError):  # dispatched twice
            services.do_dispatch_sample(sample=sample, laboratory=env.lab, by=env.inspector)
        with pytest.raises(services.CustodyOrderError):  # reported before tested
            services.do_report_sample(sample=sample, by=env.lab_user)
        services.do_receive_sample(sample=sample, by=env.lab_user)
        with pytest.raises(services.CustodyOrderError):  # received, not tested
            services.do_report_sample(sample=sample, by=env.lab_user)
        assert Sample.objects.get(pk=sample.pk).state == "received"
        assert CustodyEvent.objects.filter(sample=sample).count() == 3


def test_dispatch_checks_the_laboratory_scope(env):
    with tenant_scope(env.body):
        ref = demo.reference_data()
        env.lab.test_methods.set([ref.strength_method])  # binder method no longer in scope
        with pytest.raises(ValidationError, match="scope"):
            services.do_dispatch_sample(sample=_sample(env), laboratory=env.lab, by=env.inspector)


def test_correction_keeps_the_original(env, login):
    with tenant_scope(env.body):
        sample = services.do_dispatch_sample(sample=_sample(env), laboratory=env.lab, by=env.inspector)
        services.do_receive_sample(sample=sample, by=env.lab_user)
        original = services.do_record_lab_result(sample=sample, requirement=env.reg.binder, value=D("5.10"),
                                                 unit="%", by=env.lab_user)
        with pytest.raises(ValidationError):
            services.do_correct_lab_result(result=original, value=D("5.01"), unit="%", reason=" ", by=env.lab_user)
        with pytest.raises(ValidationError):  # another lab cannot correct
            services.do_correct_lab_result(result=original, value=D("5.01"), unit="%", reason="x", by=env.lab2_user)
    client = login(env.lab_user)
    response = client.post(reverse("lab:result-correct", kwargs={"pk": original.pk}),
                           {"value": "5.01", "unit": "%", "reason": "Transcription error"})
    assert response.status_code == 302
    with tenant_scope(env.body):
        rows = list(LabResult.objects.filter(sample=sample).order_by("id"))
        assert [r.value for r in rows] == [D("5.1000"), D("5.0100")]
        assert rows[1].supersedes == rows[0] and rows[1].correction_reason == "Transcription error"
        assert list(services.current_results(sample)) == [rows[1]]
        with pytest.raises(ValidationError):  # correcting a superseded result
            services.do_correct_lab_result(result=rows[0], value=D("5.2"), unit="%", reason="x", by=env.lab_user)
        # never updated in place: the model refuses, and so does the database
        rows[0].value = D("9")
        with pytest.raises(AppendOnlyError):
            rows[0].save()
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE sampling_labresult SET value = 9 WHERE id = %s", [rows[0].pk])
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM sampling_custodyevent WHERE sample_id = %s", [sample.pk])
        assert LabResult.objects.get(pk=rows[0].pk).value == D("5.1000")


def test_other_lab_cannot_see_or_touch_the_sample(env, login):
    with tenant_scope(env.body):
        sample = services.do_dispatch_sample(sample=_sample(env), laboratory=env.lab, by=env.inspector)
        services.do_receive_sample(sample=sample, by=env.lab_user)
        result = services.do_record_lab_result(sample=sample, requirement=env.reg.binder, value=D("5.1"), unit="%",
                                               by=env.lab_user)
        with pytest.raises(ValidationError):
            services.do_record_lab_result(sample=sample, requirement=env.reg.binder, value=D("5"), unit="%",
                                          by=env.lab2_user)
        assert services.lab_may_handle(env.lab_user, sample) and not services.lab_may_handle(env.lab2_user, sample)
    client = login(env.lab2_user)
    assert sample.code not in client.get(reverse("lab:home")).content.decode()
    assert client.get(reverse("lab:sample-detail", kwargs={"pk": sample.pk})).status_code == 404
    assert client.post(reverse("lab:sample-report", kwargs={"pk": sample.pk})).status_code == 404
    assert client.get(reverse("lab:result-correct", kwargs={"pk": result.pk})).status_code == 404
    assert client.get(reverse("api:lab-result-list")).json()["results"] == []
    response = client.post(reverse("api:lab-result-list"), {"sample": sample.pk, "property_code": "binder-content",
                                                            "value": "5", "unit": "%", "tested_on": "2026-01-01"},
                           content_type="application/json")
    assert response.status_code == 400 and "sample" in response.json()
    # the lab it was sent to sees it
    client = login(env.lab_user)
    assert [r["id"] for r in client.get(reverse("api:lab-result-list")).json()["results"]] == [result.pk]


def test_global_permission_does_not_stand_in_for_the_object_grant(env):
    from django.contrib.auth.models import Permission

    env.lab2_user.user_permissions.add(Permission.objects.get(codename="test_sample"))
    with tenant_scope(env.body):
        sample = services.do_dispatch_sample(sample=_sample(env), laboratory=env.lab, by=env.inspector)
        assert not services.lab_may_handle(env.lab2_user, sample)


def test_lab_results_via_the_api_with_validation_and_correction(env, login):
    with tenant_scope(env.body):
        sample = services.do_dispatch_sample(sample=_sample(env), laboratory=env.lab, by=env.inspector)
        services.do_receive_sample(sample=sample, by=env.lab_user)
    client = login(env.lab_user)
    url = reverse("api:lab-result-list")
    payload = {"sample": sample.pk, "property_code": "binder-content", "value": "55", "unit": "%",
               "uncertainty": "0.1", "tested_on": timezone.localdate().isoformat()}
    response = client.post(url, payload, content_type="application/json")
    assert response.status_code == 400 and "Implausible" in response.json()["value"][0]
    response = client.post(url, {**payload, "property_code": "nope"}, content_type="application/json")
    assert response.status_code == 400 and "property_code" in response.json()
    response = client.post(url, {**payload, "value": "5.2"}, content_type="application/json")
    assert response.status_code == 201
    result_id = response.json()["id"]
    correct = reverse("api:lab-result-correct", kwargs={"pk": result_id})
    assert client.post(correct, {"value": "5.1", "unit": "%"}, content_type="application/json").status_code == 400
    response = client.post(correct, {"value": "5.1", "unit": "%", "reason": "recalculated"},
                           content_type="application/json")
    assert response.status_code == 201 and response.json()["supersedes"] == result_id
    assert client.post(url, "{bad json", content_type="application/json").status_code == 400
    with tenant_scope(env.body):
        assert Sample.objects.get(pk=sample.pk).state == "tested"
        assert LabResult.objects.filter(sample=sample).count() == 2


def test_repeated_failures_propose_reinforced_inspection(env):
    with tenant_scope(env.body):
        kinds = []
        for _ in range(3):
            sample = services.do_dispatch_sample(sample=_sample(env), laboratory=env.lab, by=env.inspector)
            services.do_receive_sample(sample=sample, by=env.lab_user)
            services.do_record_lab_result(sample=sample, requirement=env.reg.binder, value=D("5.9"), unit="%",
                                          by=env.lab_user)
            _, outcomes = services.do_report_sample(sample=Sample.objects.get(pk=sample.pk), by=env.lab_user)
            kinds.append([o.proposed_escalation for o in outcomes])
    # 1st and 2nd samples: counter-test + extra sample; the 3rd follows 2 failed samples → reinforced inspection
    assert kinds[0] == kinds[1] == ["counter_test", "extra_sample"]
    assert kinds[2] == ["reinforced_inspection", "reinforced_inspection"]


def test_demo_takes_a_sample_from_visit_to_outcome(login):
    from certification.audit import acting_as

    body = body_services.do_create_body(code="demo", name="Demo")
    admin = body_services.do_add_member(body=body, email="admin@demo.test", role=Role.ADMIN).user
    ctx = {"password": "pw", "admin": admin}
    with acting_as(admin), tenant_scope(body):
        demo.build(body, ctx)
        sample = Sample.objects.get()
        assert sample.state == "reported" and sample.laboratory == ctx["laboratory"]
        outcomes = {o.kind: o for o in ConformityOutcome.objects.select_related("finding")}
        # EN 13108-21 over the holder's last 32 results: Σ|d| = 8.37, mean 0.2616 → OCL B
        ocl = ctx["sampling"].ocl
        assert (ocl.level, ocl.verdict, ocl.details["mean_abs_deviation"]) == ("B", "pass", "0.2616")
        line = next(line for line in selectors.frequency_check(ctx["sampling"].licensed.product,
                                                               timezone.localdate() - timedelta(days=89),
                                                               timezone.localdate())
                    if line.requirement.property_code == "binder-content")
        assert (line.level, line.every) == ("B", D(300))
    assert {k: o.proposed_escalation for k, o in outcomes.items()} == {
        "lab_individual": "counter_test", "comparison": "extra_sample", "self_monitoring": ""}
    # the failed lab result raised findings on the visit the sample was taken at, visible to staff
    assert outcomes["lab_individual"].finding.visit == sample.visit
    assert outcomes["comparison"].finding.severity == "minor"
    client = login(admin)
    page = client.get(reverse("staff:conformity-outcomes")).content.decode()
    assert sample.code in page and "Finding (major" in page
    visit_page = client.get(reverse("staff:visit-detail", kwargs={"pk": sample.visit_id})).content.decode()
    assert sample.code in visit_page and "External lab result against the limits" in visit_page


def test_staff_set_the_laboratory_scope(env, login):
    with tenant_scope(env.body):
        ref = demo.reference_data()
    client = login(env.officer)
    assert "Lab 2" in client.get(reverse("staff:laboratory-list")).content.decode()
    response = client.post(reverse("staff:laboratory-scope", kwargs={"pk": env.lab2.pk}), {
        "accreditation": "BELAC 555-TEST", "accreditation_valid_until": "2028-12-31",
        "test_methods": [ref.strength_method.pk]})
    assert response.status_code == 302
    with tenant_scope(env.body):
        env.lab2.refresh_from_db()
        assert env.lab2.accreditation == "BELAC 555-TEST"
        assert list(env.lab2.test_methods.all()) == [ref.strength_method]
        assert AuditEvent.objects.filter(action="laboratory.scope", actor=env.officer).exists()
        # binder content (EN 12697-1) is outside lab 2's scope now
        with pytest.raises(ValidationError, match="scope"):
            services.do_dispatch_sample(sample=_sample(env), laboratory=env.lab2, by=env.inspector)


def test_report_needs_a_result_for_every_requested_property(env):
    with tenant_scope(env.body):
        sample = services.do_take_sample(visit=env.visit, product=env.lic.product, by=env.inspector, seal_number="S",
                                         quantity="1 kg", requirements=[env.reg.binder, env.reg.strength])
        env.lab.test_methods.clear()  # no scope restriction
        services.do_dispatch_sample(sample=sample, laboratory=env.lab, by=env.inspector)
        services.do_receive_sample(sample=sample, by=env.lab_user)
        services.do_record_lab_result(sample=sample, requirement=env.reg.binder, value=D("5.0"), unit="%",
                                      by=env.lab_user)
        with pytest.raises(ValidationError, match="Results missing for: compressive-strength"):
            services.do_report_sample(sample=sample, by=env.lab_user)
        with pytest.raises(ValidationError, match="A result exists"):  # a second result for the same property
            services.do_record_lab_result(sample=sample, requirement=env.reg.binder, value=D("5.1"), unit="%",
                                          by=env.lab_user)
        services.do_record_lab_result(sample=sample, requirement=env.reg.strength, value=D("38"), unit="MPa",
                                      by=env.lab_user)
        sample, outcomes = services.do_report_sample(sample=sample, by=env.lab_user)
        assert sample.state == "reported" and len(outcomes) == 4


def test_staff_recognise_a_laboratory_and_manage_its_users(env, login, mailoutbox,
                                                           django_capture_on_commit_callbacks):
    with tenant_scope(env.body):
        ref = demo.reference_data()
    client = login(env.officer)
    create = reverse("staff:laboratory-create")
    assert client.get(create).status_code == 200
    # field errors are shown: missing accreditation, a name already recognised, a bad date
    response = client.post(create, {"name": "Lab 1", "accreditation": "", "accreditation_valid_until": "31/12/2028"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "This field is required." in html and "Enter a valid date." in html
    response = client.post(create, {"name": "lab 1", "accreditation": "BELAC 9"})
    assert response.status_code == 400 and "already recognised" in response.content.decode()
    response = client.post(create, {"name": "Concrete Lab", "accreditation": "BELAC 777-TEST",
                                    "accreditation_valid_until": "2028-12-31", "email": "info@concrete.test",
                                    "test_methods": [ref.strength_method.pk]})
    assert response.status_code == 302
    with tenant_scope(env.body):
        lab = Laboratory.objects.get(name="Concrete Lab")
        assert (lab.accreditation, str(lab.accreditation_valid_until)) == ("BELAC 777-TEST", "2028-12-31")
        assert list(lab.test_methods.all()) == [ref.strength_method]
        assert AuditEvent.objects.filter(action="laboratory.recognise", object_id=str(lab.pk),
                                         actor=env.officer).exists()
    detail = reverse("staff:laboratory-detail", kwargs={"pk": lab.pk})
    assert "BELAC 777-TEST" in client.get(detail).content.decode()
    # invite a user: account created, e-mail with a password link; a person already in a lab is refused
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(detail, {"email": "Tech@Concrete.test", "full_name": "Tech"})
    assert response.status_code == 302
    assert mailoutbox[-1].to == ["tech@concrete.test"] and "/reset/" in mailoutbox[-1].body
    response = client.post(detail, {"email": "lab1@s.test"})
    assert response.status_code == 400 and "already belongs to a laboratory" in response.content.decode()
    response = client.post(detail, {"email": "not-an-email"})
    assert response.status_code == 400 and "Enter a valid email address." in response.content.decode()
    with tenant_scope(env.body):
        membership = LaboratoryMembership.objects.get(laboratory=lab, user__email="tech@concrete.test")
    tech = membership.user
    assert login(tech).get(reverse("lab:home")).status_code == 200
    # removal: the lab portal and the grants on the lab's samples go
    with tenant_scope(env.body):
        sample = services.do_dispatch_sample(sample=_sample(env), laboratory=env.lab, by=env.inspector)
        assert services.lab_may_handle(env.lab_user, sample)
        lab1_membership = LaboratoryMembership.objects.get(user=env.lab_user)
    remove = reverse("staff:laboratory-user-remove", kwargs={"pk": env.lab.pk, "membership_pk": lab1_membership.pk})
    assert login(env.inspector).post(remove).status_code == 403  # no registry.edit
    client = login(env.officer)
    assert client.post(remove).status_code == 302
    with tenant_scope(env.body):
        assert not LaboratoryMembership.objects.get(pk=lab1_membership.pk).is_active
        assert not services.lab_may_handle(env.lab_user, sample)
        assert AuditEvent.objects.filter(action="laboratory.user_remove", object_id=str(lab1_membership.pk)).exists()
    assert login(env.lab_user).get(reverse("lab:home")).status_code == 403
    # added again later: reactivated, grants back
    client = login(env.officer)
    response = client.post(reverse("staff:laboratory-detail", kwargs={"pk": env.lab.pk}), {"email": "lab1@s.test"})
    assert response.status_code == 302
    with tenant_scope(env.body):
        assert services.lab_may_handle(env.lab_user, sample)
