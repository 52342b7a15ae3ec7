from celery import shared_task
from django.core.management import call_command


@shared_task
def clear_expired_sessions():
    call_command("clearsessions")


@shared_task
def ping(value):
    """Wiring check used by the worker test: proves a real worker consumed the broker's message."""
    return {"pong": value}


@shared_task(bind=True, acks_late=True, max_retries=None)
def deliver_webhook(self, delivery_id, body_id):
    """One attempt at a webhook delivery; idempotent (leased, skips delivered/failed), so acks_late is safe."""
    from certification import webhooks

    outcome, wait = webhooks.deliver(delivery_id, body_id)
    if outcome == "retry":
        raise self.retry(countdown=wait)
    return outcome


@shared_task
def requeue_webhook_deliveries():
    """Beat: re-enqueue overdue pending deliveries (broker down at commit time, worker killed)."""
    from certification import webhooks

    return webhooks.requeue_due()


@shared_task
def purge_idempotency_records():
    """Beat: forget stored responses older than IDEMPOTENCY_RETENTION_DAYS (platform housekeeping)."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from certification.models import IdempotencyRecord
    from certification.tenancy import scopes_disabled

    cutoff = timezone.now() - timedelta(days=settings.IDEMPOTENCY_RETENTION_DAYS)
    with scopes_disabled("purge idempotency records"):
        deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
