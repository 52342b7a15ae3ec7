"""Failed conformity outcomes raise inspections findings; accepted escalations run the owning app's service."""

from datetime import date, timedelta
from decimal import Decimal as D
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from certification import services as body_services
from certification.models import AuditEvent, Role
from certification.tenancy import tenant_scope
from inspections.models import Finding, Visit
from licences.models import Sanction
from licences.services import do_register_holder
from sampling import demo, services
from sampling.models import ConformityOutcome, SampleRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def env():
    body = body_services.do_create_body(code="esc", name="Escalation Body")
    with tenant_scope(body):
        ns = SimpleNamespace(body=body)
        ns.officer = body_services.do_add_member(body=body, email="officer@esc.test", role=Role.OFFICER).user
        ns.inspector = body_services.do_add_member(body=body, email="insp@esc.test", role=Role.INSPECTOR).user
        ns.holder = do_register_holder(body=body, name="Holder", company_number="BE0403170701")
        ref = demo.reference_data()
        ns.lab = services.do_recognise_laboratory(body=body, name="Lab", test_methods=[ref.binder_method])
        ns.lab_user = services.do_add_lab_user(laboratory=ns.lab, email="lab@esc.test").user
        # this regulation treats EN 13108-21 OCL C as a nonconformity
        ns.reg = demo.build_regulation(body, ref, code="TRA-ESC", escalate_at_c=True)
        ns.lic = demo.build_licence(body, ns.holder, ref, ns.reg.version, number="L-ESC", quick_code="94440001")
    return ns


def _reported_sample(env, value="5.62"):
    """A periodic visit → sample → lab result ``value`` (limits 4.5–5.5) → reported, with the holder's
    results around 5.0 (so the comparison fails too when the value is far off)."""
    with tenant_scope(env.body):
        return demo.build_sample_chain(env.body, holder=env.holder, inspector=env.inspector, laboratory=env.lab,
                                       lab_user=env.lab_user, regulation=env.reg, licensed=env.lic,
                                       lab_value=D(value))


def test_failed_lab_result_raises_findings_on_the_visit_of_the_sample(env):
    chain = _reported_sample(env)
    with tenant_scope(env.body):
        version_before = Visit.objects.get(pk=chain.visit.pk).row_version
        outcomes = {o.kind: o for o in ConformityOutcome.objects.filter(sample=chain.sample)
                    .select_related("finding")}
        # 5.62 > 5.5: the individual check fails → a major finding (the requirement's default severity);
        # 5.62 vs the holder's mean 5.0083 (difference 0.61 > 0.3) → a minor finding (comparison)
        individual, comparison = outcomes["lab_individual"], outcomes["comparison"]
        assert individual.finding.severity == "major" and comparison.finding.severity == "minor"
        assert individual.finding.visit_id == comparison.finding.visit_id == chain.visit.pk
        assert chain.sample.code in individual.finding.description
        assert "outside [4.5000, 5.5000]" in individual.finding.description
        assert individual.finding.state == Finding.State.OPEN
        events = AuditEvent.objects.filter(action="finding.create", object_id__in=[str(individual.finding.pk),
                                                                                   str(comparison.finding.pk)])
        assert events.count() == 2
        # the inspector's open form on the visit stays valid
        assert Visit.objects.get(pk=chain.visit.pk).row_version == version_before


def test_passing_lab_result_raises_no_finding(env):
    chain = _reported_sample(env, value="5.05")  # within 4.5–5.5 and 0.04 from the holder's mean
    with tenant_scope(env.body):
        outcomes = ConformityOutcome.objects.filter(sample=chain.sample)
        assert {o.verdict for o in outcomes} == {"pass"}
        assert not outcomes.filter(finding__isnull=False).exists()
        assert not Finding.objects.filter(visit=chain.visit).exists()


def _failing_series(env):
    """32 binder results at 5.4: |d| 0.4 each, mean 0.4 > 0.35 (limit B) → OCL C, a nonconformity here."""
    for day in range(32):
        services.do_record_self_monitoring(holder=env.holder, product=env.lic.product, property_code="binder-content",
                                           tested_on=date(2026, 1, 1) + timedelta(days=day), value=D("5.4"),
                                           unit="%", by=None)
    return services.do_evaluate_self_monitoring(product=env.lic.product, requirement=env.reg.binder)


def test_self_monitoring_failure_without_open_visit_plans_a_follow_up(env):
    with tenant_scope(env.body):
        outcome = _failing_series(env)
        assert (outcome.level, outcome.verdict, outcome.proposed_escalation) == ("C", "fail", "warning")
        visit = outcome.finding.visit
        assert visit.licence == env.lic.licence and visit.kind == Visit.Kind.FOLLOW_UP
        assert visit.planned_for == timezone.localdate() + timedelta(days=30)
        assert outcome.finding.severity == "major" and "OCL C" in outcome.finding.description
        assert AuditEvent.objects.filter(action="visit.create", object_id=str(visit.pk)).exists()


def test_self_monitoring_failure_goes_on_the_next_open_visit(env):
    with tenant_scope(env.body):
        closed = Visit.objects.create(body=env.body, licence=env.lic.licence, site=env.lic.site,
                                      planned_for=date(2025, 6, 1), state=Visit.State.CLOSED)
        planned = Visit.objects.create(body=env.body, licence=env.lic.licence, site=env.lic.site,
                                       planned_for=timezone.localdate() + timedelta(days=5))
        outcome = _failing_series(env)
        assert outcome.finding.visit == planned and outcome.finding.visit != closed
        assert Visit.objects.filter(licence=env.lic.licence).count() == 2  # no follow-up planned


def test_accepting_a_warning_imposes_it_through_licences_once(env, login):
    with tenant_scope(env.body):
        outcome = _failing_series(env)
    client = login(env.officer)
    decide = reverse("staff:conformity-decide", kwargs={"pk": outcome.pk})
    for _ in range(2):  # a double-click
        response = client.post(decide, {"decision": "accept", "reason": "OCL C on binder content"})
        assert response.status_code == 302
    with tenant_scope(env.body):
        outcome.refresh_from_db()
        sanctions = Sanction.objects.filter(licence=env.lic.licence)
        assert [s.kind for s in sanctions] == ["warning"] and outcome.sanction == sanctions.get()
        assert sanctions.get().imposed_by == env.officer and sanctions.get().reason == "OCL C on binder content"
        assert AuditEvent.objects.filter(action="sanction.impose").count() == 1
        assert AuditEvent.objects.filter(action="conformity.accepted", object_id=str(outcome.pk)).count() == 1
    page = client.get(reverse("staff:conformity-outcomes") + "?status=accepted").content.decode()
    assert "Warning issued" in page and "Finding (major, open" in page


def test_accepting_reinforced_inspection_plans_an_unannounced_visit(env):
    with tenant_scope(env.body):
        outcome = _failing_series(env)
        outcome.proposed_escalation = ConformityOutcome.Escalation.REINFORCED_INSPECTION
        outcome.save()
        outcome = services.do_decide_outcome(outcome=outcome, accept=True, reason="", by=env.officer)
        visit = outcome.planned_visit
        assert (visit.kind, visit.announced, visit.licence) == ("unannounced", False, env.lic.licence)
        assert visit.planned_for == timezone.localdate() + timedelta(days=14)
        assert AuditEvent.objects.filter(action="visit.create", object_id=str(visit.pk)).exists()
        again = services.do_decide_outcome(outcome=outcome, accept=True, reason="", by=env.officer)
        assert again.planned_visit == visit
        assert Visit.objects.filter(licence=env.lic.licence, kind="unannounced").count() == 1


def test_accepted_extra_sample_is_requested_then_fulfilled_by_the_next_sample(env, login):
    chain = _reported_sample(env)
    with tenant_scope(env.body):
        comparison = ConformityOutcome.objects.get(sample=chain.sample, kind="comparison")
        outcome = services.do_decide_outcome(outcome=comparison, accept=True, reason="Sample again", by=env.officer)
        request = outcome.sample_request
        assert (request.kind, request.state, request.origin_sample) == ("extra_sample", "open", chain.sample)
        assert list(request.requirements.all()) == [env.reg.binder]
        visit = Visit.objects.create(body=env.body, licence=env.lic.licence, site=env.lic.site,
                                     planned_for=timezone.localdate(), state=Visit.State.IN_PROGRESS,
                                     inspector=env.inspector)
    page = login(env.inspector).get(reverse("inspector:sample-take", kwargs={"visit_pk": visit.pk})).content.decode()
    assert "Requested by the certification staff" in page and "Extra sample" in page
    with tenant_scope(env.body):
        sample = services.do_take_sample(visit=visit, product=env.lic.product, by=env.inspector, seal_number="S2",
                                         quantity="1 kg", requirements=[env.reg.binder])
        request = SampleRequest.objects.get(pk=request.pk)
        assert (request.state, request.fulfilled_by) == ("fulfilled", sample)
        assert AuditEvent.objects.filter(action="sample_request.fulfil", object_id=str(request.pk)).exists()


def test_a_dismissed_proposal_cannot_then_be_accepted_and_runs_nothing(env):
    with tenant_scope(env.body):
        outcome = _failing_series(env)
        with pytest.raises(ValidationError):
            services.do_decide_outcome(outcome=outcome, accept=False, reason=" ", by=env.officer)
        services.do_decide_outcome(outcome=outcome, accept=False, reason="Plant under repair", by=env.officer)
        with pytest.raises(ValidationError, match="already decided"):
            services.do_decide_outcome(outcome=outcome, accept=True, reason="", by=env.officer)
        assert not Sanction.objects.filter(licence=env.lic.licence).exists()


def test_a_refused_escalation_leaves_the_proposal_open(env, login):
    """The warning needs a decider who did not inspect the holder: refused, nothing recorded."""
    with tenant_scope(env.body):
        outcome = _failing_series(env)
    client = login(env.inspector)  # an inspector has no decisions.take capability
    response = client.post(reverse("staff:conformity-decide", kwargs={"pk": outcome.pk}), {"decision": "accept"})
    assert response.status_code in (302, 403)
    with tenant_scope(env.body):
        with pytest.raises(ValidationError):
            services.do_decide_outcome(outcome=outcome, accept=True, reason="", by=env.inspector)
        outcome.refresh_from_db()
        assert outcome.status == "proposed" and outcome.sanction is None
        assert not Sanction.objects.filter(licence=env.lic.licence).exists()
