"""Webhooks: an outbox of deliveries written with the event, sent signed by Celery, retried, logged.

1. A service publishes ``certificate.status_changed`` (subject = certificate number) inside its
   transaction; ``on_event`` (registered with ``certification.events.subscribe``) writes one
   ``WebhookDelivery`` per matching active subscription in that same transaction, and enqueues the
   delivery task when (and only if) the transaction commits.
2. ``deliver`` (called by the task) leases the delivery, POSTs the JSON body signed with
   HMAC-SHA256 over ``"<timestamp>.<body>"``, logs a ``WebhookAttempt``, and marks it delivered, or
   schedules the next attempt with exponential backoff (failed after ``WEBHOOK_MAX_ATTEMPTS``).
3. ``requeue_due`` (beat) re-enqueues pending deliveries whose attempt is overdue: this covers a
   broker that was down at commit time, and a worker killed mid-attempt.

Signature header: ``X-Certification-Signature: t=<unix seconds>,v1=<hex hmac_sha256(secret, "<t>.<raw body>")>``.
"""

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from certification import events
from certification.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from certification.tenancy import scopes_disabled, tenant_scope

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Certification-Signature"
LEASE = timedelta(seconds=60)


def max_attempts():
    return getattr(settings, "WEBHOOK_MAX_ATTEMPTS", 8)


def backoff_seconds(attempt):
    """Seconds to wait after failed attempt number ``attempt`` (1-based): base × 2^(attempt-1), capped."""
    base = getattr(settings, "WEBHOOK_RETRY_BASE_SECONDS", 30)
    return min(base * 2 ** (attempt - 1), getattr(settings, "WEBHOOK_RETRY_MAX_SECONDS", 6 * 3600))


def sign(secret, timestamp, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret, header, body: bytes, tolerance=300, now=None) -> bool:
    """What a receiver does (documented in docs/api.md): check the MAC and the timestamp's freshness."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    now = int(now if now is not None else time.time())
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def _enqueue(delivery_id, body_id):
    """Hand a delivery to the broker; if that fails the row stays pending and the beat job retries."""
    from certification.tasks import deliver_webhook

    try:
        deliver_webhook.delay(delivery_id, body_id)
    except Exception:  # broker down: the outbox row is the source of truth
        logger.warning("webhook delivery %s not enqueued; the requeue job will pick it up", delivery_id,
                       exc_info=True)


def enqueue_on_commit(delivery_id, body_id):
    """Like Celery's ``delay_on_commit``, but a broker error after commit never reaches the caller."""
    transaction.on_commit(partial(_enqueue, delivery_id, body_id), robust=True)


@events.subscribe
def on_event(event):
    """Turn a domain event into outbox rows, in the publisher's transaction."""
    with tenant_scope(event.body_id):
        subscriptions = list(
            WebhookSubscription.objects.filter(is_active=True, api_key__revoked_at__isnull=True,
                                               watches__subject=event.subject)
            .filter(Q(api_key__expires_at__isnull=True) | Q(api_key__expires_at__gt=timezone.now()))
            .distinct()
        )
        created = []
        for subscription in subscriptions:
            if subscription.event_types and event.type not in subscription.event_types:
                continue
            event_id = uuid.uuid4()
            payload = {"id": str(event_id), "type": event.type, "subject": event.subject,
                       "created_at": timezone.now().isoformat(), "data": event.payload}
            payload = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
            created.append(WebhookDelivery.objects.create(body_id=event.body_id, subscription=subscription,
                                                          event_id=event_id, event_type=event.type,
                                                          subject=event.subject, payload=payload))
    for delivery in created:
        enqueue_on_commit(delivery.pk, event.body_id)
    return created


def _lease(delivery_id):
    """Claim a due, pending delivery for one attempt; None when it is done, not due, or leased by another."""
    now = timezone.now()
    claimed = (WebhookDelivery.objects.filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING)
               .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
               .update(lease_until=now + LEASE))
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)


def _post(url, body, headers, timeout):
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http/https only)
            return response.status, response.read(2000).decode(errors="replace"), ""
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(2000).decode(errors="replace"), ""
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, "", str(getattr(exc, "reason", exc))[:1000]


def deliver(delivery_id, body_id):
    """One attempt at one delivery. Returns ``("delivered"|"retry"|"failed"|"skip", seconds_to_wait)``.

    Idempotent: a delivery already delivered or failed, or leased by a concurrent attempt, is skipped.
    """
    with tenant_scope(body_id):
        delivery = _lease(delivery_id)
        if delivery is None:
            return "skip", None
        subscription = delivery.subscription
        if delivery.next_attempt_at > timezone.now() + timedelta(seconds=0.5):
            # Not due: the task chain that scheduled the next attempt owns it; don't start a second chain.
            WebhookDelivery.objects.filter(pk=delivery.pk).update(lease_until=None)
            return "skip", None
        number = delivery.attempts + 1
        body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "certification-webhooks/1",
            "X-Certification-Event": delivery.event_type,
            "X-Certification-Delivery": str(delivery.event_id),
            SIGNATURE_HEADER: sign(subscription.secret, timestamp, body),
        }
        started = timezone.now()
        clock = time.monotonic()
        if subscription.is_active and not url_allowed(subscription.url):
            status, excerpt, error = None, "", "URL not allowed (not public)"
        elif subscription.is_active:
            status, excerpt, error = _post(subscription.url, body, headers,
                                           getattr(settings, "WEBHOOK_TIMEOUT_SECONDS", 10))
        else:
            status, excerpt, error = None, "", "subscription inactive"
        duration = int((time.monotonic() - clock) * 1000)
        with transaction.atomic():
            WebhookAttempt.objects.create(body_id=body_id, delivery=delivery, number=number, started_at=started,
                                          duration_ms=duration, response_status=status, error=error,
                                          response_excerpt=excerpt)
            delivery.attempts = number
            delivery.lease_until = None
            if status is not None and 200 <= status < 300:
                delivery.status, delivery.delivered_at, delivery.last_error = (
                    WebhookDelivery.Status.DELIVERED, timezone.now(), "")
                outcome, wait = "delivered", None
            else:
                delivery.last_error = error or f"HTTP {status}"
                if number >= max_attempts() or not subscription.is_active:
                    delivery.status = WebhookDelivery.Status.FAILED
                    outcome, wait = "failed", None
                else:
                    wait = backoff_seconds(number)
                    delivery.next_attempt_at = timezone.now() + timedelta(seconds=wait)
                    outcome = "retry"
            delivery.save(update_fields=["attempts", "lease_until", "status", "delivered_at", "last_error",
                                         "next_attempt_at"])
        return outcome, wait


def requeue_due(grace=None):
    """Re-enqueue pending deliveries whose attempt is overdue (broker down at commit, worker killed)."""
    grace = timedelta(seconds=getattr(settings, "WEBHOOK_REQUEUE_GRACE_SECONDS", 120) if grace is None else grace)
    now = timezone.now()
    with scopes_disabled("webhook requeue"):
        due = list(WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now - grace)
                   .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
                   .order_by("next_attempt_at", "pk").values_list("pk", "body_id")[:1000])
    for delivery_id, body_id in due:
        _enqueue(delivery_id, body_id)
    return len(due)


def url_allowed(url):
    """Only http(s) URLs whose host resolves to public addresses (no SSRF into the private network),
    unless ``WEBHOOK_ALLOW_PRIVATE_URLS`` is set (tests, on-premises installations)."""
    import ipaddress
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if getattr(settings, "WEBHOOK_ALLOW_PRIVATE_URLS", False):
        return True
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_global for info in infos)
