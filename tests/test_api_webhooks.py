"""Webhooks: subscriptions over the API, outbox rows in the publisher's transaction, signed delivery to a
local HTTP server, retry with backoff after a 500, attempt log, requeue of stuck deliveries, real worker."""

import json
import time
from datetime import timedelta

import pytest
from django.db import connections, transaction
from django.utils import timezone

from certification import events, webhooks
from certification.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from certification.tenancy import scopes_disabled, tenant_scope
from tests.api_support import Receiver, issue_key, key_client, make_api_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_world(world, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True  # the receiver below listens on loopback
    settings.WEBHOOK_RETRY_BASE_SECONDS = 1
    return make_api_world(world)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def subscribe(token, url, certificates=("COPRO-0001",)):
    response = key_client(token).post("/api/v1/webhooks/", {"url": url, "certificates": list(certificates)},
                                      format="json")
    assert response.status_code == 201, response.content
    return response


def publish(body, subject="COPRO-0001", state="suspended"):
    with transaction.atomic():
        events.publish("certificate.status_changed", body=body, subject=subject,
                       payload={"certificate": subject, "status": state, "effective": "2026-11-26"})


def deliveries(body):
    with tenant_scope(body):
        return list(WebhookDelivery.objects.order_by("pk"))


# --- subscriptions over the API -------------------------------------------------------------------

def test_subscription_secret_is_shown_once(api_world, receiver):
    created = subscribe(api_world.a.key.token, receiver.url).json()
    assert created["secret"].startswith("whsec_") and created["certificates"] == ["COPRO-0001"]
    client = key_client(api_world.a.key.token)
    detail = client.get(f"/api/v1/webhooks/{created['id']}/")
    assert "secret" not in detail.json() and created["secret"] not in detail.content.decode()
    assert created["secret"] not in client.get("/api/v1/webhooks/").content.decode()
    with scopes_disabled("test"):
        from certification.models import AuditEvent, IdempotencyRecord

        stored = json.dumps(list(WebhookSubscription.objects.values()), default=str)
        stored += json.dumps(list(AuditEvent.objects.values("before", "after")), default=str)
        stored += json.dumps(list(IdempotencyRecord.objects.values("response_body")), default=str)
    assert created["secret"] not in stored


def test_subscription_update_needs_if_match_and_delete(api_world, receiver):
    client = key_client(api_world.a.key.token)
    created = subscribe(api_world.a.key.token, receiver.url)
    url = f"/api/v1/webhooks/{created.json()['id']}/"
    assert client.patch(url, {"certificates": ["X"]}, format="json").status_code == 428
    response = client.patch(url, {"certificates": ["COPRO-0002", "COPRO-0003"]}, format="json",
                            HTTP_IF_MATCH=created["ETag"])
    assert response.status_code == 200, response.content
    assert response.json()["certificates"] == ["COPRO-0002", "COPRO-0003"]
    assert client.patch(url, {"is_active": False}, format="json", HTTP_IF_MATCH=created["ETag"]).status_code == 412
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404


def test_subscriptions_belong_to_their_key(api_world, receiver):
    created = subscribe(api_world.a.key.token, receiver.url).json()
    url = f"/api/v1/webhooks/{created['id']}/"
    other_a = issue_key(api_world.a.body, name="another partner of A")
    for token in (api_world.b.key.token, other_a.token):
        client = key_client(token)
        assert client.get(url).status_code == 404
        assert client.delete(url).status_code == 404
        assert client.get("/api/v1/webhooks/").json()["count"] == 0


def test_session_users_cannot_use_webhooks(world, client):
    client.force_login(world.a.admin)
    assert client.get("/api/v1/webhooks/").status_code == 403


def test_private_urls_are_refused_by_default(api_world, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    client = key_client(api_world.a.key.token)
    for url in ("http://127.0.0.1:8000/x", "http://localhost/x", "http://10.1.2.3/x", "ftp://example.com/x"):
        response = client.post("/api/v1/webhooks/", {"url": url, "certificates": ["C"]}, format="json")
        assert response.status_code == 400 and "url" in response.json(), url


def test_subscription_input_errors_are_field_messages(api_world):
    client = key_client(api_world.a.key.token)
    response = client.post("/api/v1/webhooks/", {"url": "not a url", "certificates": "COPRO-1",
                                                 "event_types": ["licence.exploded"]}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"url", "certificates", "event_types"}


# --- outbox ---------------------------------------------------------------------------------------

def test_event_writes_outbox_rows_in_the_publishers_transaction(api_world, receiver, django_capture_on_commit_callbacks):
    subscribe(api_world.a.key.token, receiver.url, ["COPRO-0001", "COPRO-0009"])
    subscribe(api_world.b.key.token, receiver.url, ["COPRO-0001"])  # other body, same number
    # Rolled back with the change: nothing to deliver.
    with pytest.raises(RuntimeError), transaction.atomic():
        events.publish("certificate.status_changed", body=api_world.a.body, subject="COPRO-0001")
        raise RuntimeError("the service failed")
    assert deliveries(api_world.a.body) == []
    with django_capture_on_commit_callbacks() as callbacks:
        publish(api_world.a.body)
        publish(api_world.a.body, subject="COPRO-7777")  # not watched
    rows = deliveries(api_world.a.body)
    assert [(d.subject, d.status) for d in rows] == [("COPRO-0001", "pending")]
    assert rows[0].payload["data"]["status"] == "suspended" and rows[0].payload["id"] == str(rows[0].event_id)
    assert len(callbacks) == 1
    assert deliveries(api_world.b.body) == []


def test_revoked_key_gets_nothing(api_world, receiver):
    from certification.api import services

    subscribe(api_world.a.key.token, receiver.url)
    with tenant_scope(api_world.a.body):
        services.do_revoke_api_key(api_key=api_world.a.key.api_key)
    publish(api_world.a.body)
    assert deliveries(api_world.a.body) == []


# --- delivery -------------------------------------------------------------------------------------

def test_delivery_is_signed_and_the_signature_verifies(api_world, receiver):
    secret = subscribe(api_world.a.key.token, receiver.url).json()["secret"]
    publish(api_world.a.body)
    delivery = deliveries(api_world.a.body)[0]
    assert webhooks.deliver(delivery.pk, api_world.a.body.pk) == ("delivered", None)
    headers, body = receiver.requests[0]
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Certification-Event"] == "certificate.status_changed"
    assert headers["X-Certification-Delivery"] == str(delivery.event_id)
    signature = headers["X-Certification-Signature"]
    assert webhooks.verify(secret, signature, body)
    assert not webhooks.verify(secret, signature, body.replace(b"suspended", b"active__"))
    assert not webhooks.verify("whsec_wrong", signature, body)
    assert not webhooks.verify(secret, signature, body, now=time.time() + 3600)  # replayed much later
    assert json.loads(body)["subject"] == "COPRO-0001"
    delivery = deliveries(api_world.a.body)[0]
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
    with tenant_scope(api_world.a.body):
        attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert (attempt.number, attempt.response_status, attempt.response_excerpt) == (1, 200, "ok")


def test_retry_with_backoff_after_a_500_then_delivered(api_world, receiver):
    subscribe(api_world.a.key.token, receiver.url)
    publish(api_world.a.body)
    delivery = deliveries(api_world.a.body)[0]
    receiver.statuses.put(500)
    receiver.statuses.put(503)
    assert webhooks.deliver(delivery.pk, api_world.a.body.pk) == ("retry", 1)
    # Not due yet: a second task (e.g. a duplicate message) does not send early.
    assert webhooks.deliver(delivery.pk, api_world.a.body.pk) == ("skip", None)
    assert len(receiver.requests) == 1
    with tenant_scope(api_world.a.body):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert webhooks.deliver(delivery.pk, api_world.a.body.pk) == ("retry", 2)  # exponential: 1, 2, 4...
    with tenant_scope(api_world.a.body):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert webhooks.deliver(delivery.pk, api_world.a.body.pk) == ("delivered", None)
    with tenant_scope(api_world.a.body):
        log = list(WebhookAttempt.objects.filter(delivery=delivery).values_list("number", "response_status"))
    assert log == [(1, 500), (2, 503), (3, 200)]
    # Idempotent: once delivered, a redelivered task sends nothing.
    assert webhooks.deliver(delivery.pk, api_world.a.body.pk) == ("skip", None)
    assert len(receiver.requests) == 3


def test_gives_up_after_max_attempts_and_logs_connection_errors(api_world, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    subscribe(api_world.a.key.token, "http://127.0.0.1:9/closed-port")
    publish(api_world.a.body)
    delivery = deliveries(api_world.a.body)[0]
    assert webhooks.deliver(delivery.pk, api_world.a.body.pk)[0] == "retry"
    with tenant_scope(api_world.a.body):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert webhooks.deliver(delivery.pk, api_world.a.body.pk) == ("failed", None)
    delivery = deliveries(api_world.a.body)[0]
    assert delivery.status == "failed" and delivery.last_error
    with tenant_scope(api_world.a.body):
        errors = list(WebhookAttempt.objects.filter(delivery=delivery).values_list("response_status", "error"))
    assert len(errors) == 2 and all(status is None and error for status, error in errors)


def test_backoff_is_exponential_and_capped(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    settings.WEBHOOK_RETRY_MAX_SECONDS = 3600
    assert [webhooks.backoff_seconds(n) for n in range(1, 9)] == [30, 60, 120, 240, 480, 960, 1920, 3600]


def test_broker_down_at_commit_then_requeued_by_the_beat_job(api_world, receiver, monkeypatch,
                                                            django_capture_on_commit_callbacks):
    from certification import tasks

    subscribe(api_world.a.key.token, receiver.url)

    def broker_down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(tasks.deliver_webhook, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        publish(api_world.a.body)  # the commit succeeds even though the enqueue fails
    delivery = deliveries(api_world.a.body)[0]
    assert delivery.status == "pending"

    enqueued = []
    monkeypatch.setattr(tasks.deliver_webhook, "delay", lambda *args: enqueued.append(args))
    assert webhooks.requeue_due() == 0  # within the grace period: the first enqueue may still be in flight
    with scopes_disabled("test"):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    assert webhooks.requeue_due() == 1
    assert enqueued == [(delivery.pk, api_world.a.body.pk)]
    assert tasks.requeue_webhook_deliveries() == 1  # the beat entry calls the same thing


# --- a real Celery worker ------------------------------------------------------------------------

@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_delivers_and_retries_after_a_500(world, receiver, settings):
    """Depends on Celery itself: the commit hook enqueues on Redis, the worker runs the task, and the
    retry after the 500 is scheduled by Celery (self.retry with a countdown), not by the test."""
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun

    from certification.celery import app

    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    settings.WEBHOOK_RETRY_BASE_SECONDS = 1
    issued = issue_key(world.a.body)
    secret = subscribe(issued.token, receiver.url).json()["secret"]
    receiver.statuses.put(500)

    def close_worker_connections(**kwargs):
        connections.close_all()

    task_postrun.connect(close_worker_connections, weak=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            publish(world.a.body)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with scopes_disabled("test"):
                    status = WebhookDelivery.objects.values_list("status", flat=True).first()
                if status == "delivered":
                    break
                time.sleep(0.2)
    finally:
        task_postrun.disconnect(close_worker_connections)
    assert status == "delivered"
    with scopes_disabled("test"):
        log = list(WebhookAttempt.objects.values_list("number", "response_status"))
    assert log == [(1, 500), (2, 200)]
    assert [json.loads(body)["subject"] for _, body in receiver.requests] == ["COPRO-0001", "COPRO-0001"]
    headers, body = receiver.requests[1]
    assert webhooks.verify(secret, headers["X-Certification-Signature"], body)
