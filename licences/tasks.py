"""Celery tasks of licences/: thin wrappers around services, each run in its body's scope."""

import datetime as dt
import logging

from celery import shared_task
from django.utils import timezone

from certification.tenancy import body_task, for_each_active_body, scopes_disabled, tenant_scope

log = logging.getLogger(__name__)

STUCK_AFTER = dt.timedelta(minutes=10)
MAX_ATTEMPTS = 5


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def render_certificate(body_id, certificate_id):
    """Idempotent: a certificate already rendered is left as it is, so redelivery (acks_late) is harmless."""
    from licences import services

    with tenant_scope(body_id):
        try:
            certificate = services.do_render_certificate(certificate_id=certificate_id)
        except OSError:
            raise
        except Exception as exc:  # recorded so that staff see it; the beat job retries a few times
            log.exception("certificate %s failed to render", certificate_id)
            services.do_mark_render_failed(certificate_id=certificate_id, error=exc)
            raise
    return {"certificate": certificate.full_number, "sha256": certificate.sha256}


def stuck_renders(now=None):
    """Certificates whose render was requested long ago and never finished (e.g. enqueued while Redis was down)."""
    from licences.models import Certificate

    now = now or timezone.now()
    return (Certificate.objects.filter(render_status__in=[Certificate.RenderStatus.PENDING,
                                                          Certificate.RenderStatus.FAILED],
                                       render_requested_at__lt=now - STUCK_AFTER,
                                       render_attempts__lt=MAX_ATTEMPTS)
            .values_list("body_id", "pk"))


@shared_task
def requeue_stuck_certificate_renders():
    """Beat job: the database records pending renders; re-enqueue those that never completed."""
    from licences.models import Certificate

    with scopes_disabled("requeue certificate renders"):
        stuck = list(stuck_renders())
        # re-arm the clock so that a slow queue is not flooded with duplicates (the task is idempotent anyway)
        Certificate.objects.filter(pk__in=[pk for _, pk in stuck]).update(render_requested_at=timezone.now())
    for body_id, pk in stuck:
        render_certificate.delay(body_id, pk)
    return len(stuck)


@shared_task
def run_licence_lifecycle():
    """Beat job: one lifecycle task per active certification body (each runs in its body's scope)."""
    return for_each_active_body(run_licence_lifecycle_for_body)


@shared_task(acks_late=True)
@body_task
def run_licence_lifecycle_for_body(body_id):
    """Scheduled changes, sanction ends, expiries and expiry notices of one body. Every action is idempotent
    (a second run changes nothing), so redelivery after a worker crash (acks_late) is harmless."""
    from licences import services

    counts = services.run_due_lifecycle()
    if any(counts.values()):
        log.info("licence lifecycle for body %s: %s", body_id, counts)
    return counts
