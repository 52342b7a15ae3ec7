"""Issue #7's "done when", end to end: a partner holding only the published schema (docs/openapi.yaml) and an
API key verifies a delivery, subscribes to a certificate, and receives a signed webhook when staff suspend it.

Everything a partner would see is real: the app is served over HTTP (live server), the partner speaks plain
HTTP with urllib (no Django test client, no URL names: the paths come from the schema's operations), staff
suspend through the licences service, the outbox row is handed to Redis on commit, a real Celery worker
delivers it to an HTTP receiver started by the test, and the signature is checked with the receiver-side
code published in docs/api.md (executed from the document itself).
"""

import datetime as dt
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml
from django.db import connections
from django.utils import timezone

from certification.models import Role
from certification.tenancy import tenant_scope
from licences import services as licence_services
from licences.models import Decision
from tests.api_support import Receiver, issue_key

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text())


def operation(operation_id):
    """(METHOD, path, operation) of the published schema's operation with this id."""
    for path, item in SCHEMA["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return method.upper(), path, op
    raise AssertionError(f"{operation_id} is not in docs/openapi.yaml")


def documented_verify():
    """The receiver-side ``verify`` function exactly as published in docs/api.md."""
    text = (ROOT / "docs" / "api.md").read_text()
    section = text.split("### Verifying a signature (receiver side)", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace = {}
    exec(compile(code, "docs/api.md", "exec"), namespace)  # noqa: S102 (our own documentation)
    return namespace["verify"]


class Partner:
    """A partner system: a base URL, a key, the schema. Plain HTTP."""

    def __init__(self, base_url, token):
        self.base_url, self.token = base_url.rstrip("/"), token

    def call(self, operation_id, query=None, body=None, headers=()):
        method, path, op = operation(operation_id)
        names = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
        assert set(query or {}) <= names, f"{sorted(set(query) - names)} not documented for {operation_id}"
        url = self.base_url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers={
            "Authorization": f"Api-Key {self.token}", "Accept": "application/json",
            **({"Content-Type": "application/json"} if data is not None else {}), **dict(headers)})
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_partner_verifies_subscribes_and_receives_a_signed_webhook_on_suspension(world, live_server, settings):
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun

    from certification.celery import app

    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True  # the receiver listens on 127.0.0.1 (refused by default)
    a = world.a
    number = a.certificate.full_number
    issued = issue_key(a.body, role=Role.AUDITOR, scopes=("read", "write"), name="Road authority")
    partner = Partner(live_server.url, issued.token)
    receiver = Receiver()
    verify = documented_verify()

    # 1. Verify a delivery: was the certificate valid on the delivery date (ten days ago)?
    delivered_on = timezone.localdate() - dt.timedelta(days=10)
    status, answer = partner.call("verify_list", {"reference": number, "date": delivered_on.isoformat()})
    assert status == 200, answer
    assert (answer["found"], answer["valid_on_date"], answer["state_on_date"]) == (True, True, "active")
    assert answer["certificate_on_date"]["number"] == number

    # 2. Subscribe to the certificate (the secret is shown once).
    status, subscription = partner.call("webhooks_create", body={"url": receiver.url, "certificates": [number]},
                                        headers={"Idempotency-Key": "partner-subscribe-1"})
    assert status == 201, subscription
    assert subscription["certificates"] == [number] and subscription["secret"].startswith("whsec_")
    secret = subscription["secret"]

    # 3. Staff suspend the licence through the service; 4. a real worker delivers the webhook.
    def close_worker_connections(**kwargs):
        connections.close_all()

    task_postrun.connect(close_worker_connections, weak=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            with tenant_scope(a.body):
                licence_services.do_take_decision(licence=a.licence, kind=Decision.Kind.SUSPEND, by=a.officer,
                                                  reason="Major non-conformity not corrected")
            deadline = time.monotonic() + 30
            while not receiver.requests and time.monotonic() < deadline:
                time.sleep(0.2)
    finally:
        task_postrun.disconnect(close_worker_connections)
        receiver.close()

    assert len(receiver.requests) == 1, receiver.requests
    headers, raw = receiver.requests[0]
    headers = {k.lower(): v for k, v in headers.items()}
    assert verify(secret, headers["x-certification-signature"], raw)
    assert not verify(secret, headers["x-certification-signature"], raw.replace(b"suspended", b"active   "))
    assert not verify("whsec_wrong", headers["x-certification-signature"], raw)
    event = json.loads(raw)
    assert headers["x-certification-event"] == event["type"] == "certificate.status_changed"
    assert headers["x-certification-delivery"] == event["id"]
    assert event["subject"] == number
    assert event["data"]["status"] == "suspended"
    assert event["data"]["licence"] == a.licence.number

    # 5. The same verification today answers "not certified": the suspension is in the status history.
    status, answer = partner.call("verify_list", {"reference": number, "date": timezone.localdate().isoformat()})
    assert status == 200 and answer["valid_on_date"] is False and answer["state_on_date"] == "suspended"
    status, answer = partner.call("verify_list", {"reference": number, "date": delivered_on.isoformat()})
    assert answer["valid_on_date"] is True  # the delivery ten days ago stays covered
