"""Celery tasks of inspections/: thin wrappers that run a service inside the body's scope."""

from celery import shared_task
from django.utils import timezone

from certification.models import CertificationBody
from certification.tenancy import tenant_scope
from inspections import services


@shared_task
def plan_visits(body_id, year=None):
    body = CertificationBody.objects.get(pk=body_id)
    with tenant_scope(body):
        result = services.do_plan_year(body=body, year=year or timezone.localdate().year)
    return {"created": len(result.created), "unassigned": result.unassigned}


@shared_task
def inspections_housekeeping(body_id):
    """Flag overdue visits and escalate late corrective actions of one body."""
    body = CertificationBody.objects.get(pk=body_id)
    with tenant_scope(body):
        visits = services.do_flag_overdue_visits(body=body)
        findings = services.do_escalate_overdue_actions(body=body)
    return {"overdue_visits": len(visits), "escalated_findings": len(findings)}


@shared_task
def nightly_planning():
    """Beat entry: for every active body, top up this year's plan (idempotent), then housekeeping."""
    for body_id in CertificationBody.objects.filter(is_active=True).values_list("pk", flat=True):
        plan_visits.delay(body_id)
        inspections_housekeeping.delay(body_id)
