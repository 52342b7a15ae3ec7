"""The partner journey across apps: verify a delivery, watch a certificate, get a webhook on suspension."""

import pytest

from certification.api import services as api_services
from certification.models import WebhookDelivery
from certification.tenancy import scopes_disabled, tenant_scope
from licences import services as licence_services
from licences.models import Decision
from tests.api_support import issue_key, key_client

pytestmark = pytest.mark.django_db


def test_suspension_of_a_watched_certificate_queues_a_webhook_delivery(world):
    a = world.a
    number = a.certificate.full_number
    partner = key_client(issue_key(a.body, name="Road authority").token)
    verified = partner.get("/api/v1/verify/", {"reference": number, "date": "2030-01-01"})
    assert verified.status_code in (200, 404)  # a future date may be outside validity; it never errors
    with tenant_scope(a.body):
        subscription = api_services.do_create_subscription(
            api_key=a.api_key.api_key, url="https://partner.example.com/hook", certificates=[number])
        licence_services.do_take_decision(licence=a.licence, kind=Decision.Kind.SUSPEND, by=a.officer,
                                          reason="Major non-conformity not corrected")
    with scopes_disabled("test"):
        deliveries = list(WebhookDelivery.objects.filter(subscription=subscription.subscription
                                                         if hasattr(subscription, "subscription") else subscription))
    assert [d.subject for d in deliveries] == [number]
    assert deliveries[0].event_type == "certificate.status_changed"
    assert "suspended" in str(deliveries[0].payload), deliveries[0].payload
