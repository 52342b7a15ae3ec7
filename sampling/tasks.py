"""Celery tasks of sampling/: thin wrappers around services, each run in its body's scope."""

import logging

from celery import shared_task

from certification.tenancy import body_task, for_each_active_body

log = logging.getLogger(__name__)


@shared_task
def review_self_monitoring():
    """Beat job: one review task per active certification body."""
    return for_each_active_body(review_self_monitoring_for_body)


@shared_task(acks_late=True)
@body_task
def review_self_monitoring_for_body(body_id):
    """Last month's self-monitoring review of one body; idempotent (a reviewed product is skipped)."""
    from sampling import services

    counts = services.run_self_monitoring_reviews()
    if counts["reviewed"]:
        log.info("self-monitoring review for body %s: %s", body_id, counts)
    return counts
