"""Verification at a delivery date (before/during/after a suspension), sanctions, appeals, public pages, API."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from certification import events
from certification.tenancy import public_reads, scopes_disabled, tenant_scope
from licences import selectors, services
from licences.models import Appeal, Decision, Licence, Product, Sanction

pytestmark = pytest.mark.django_db


def day(offset):
    return timezone.localdate() + dt.timedelta(days=offset)


@pytest.fixture
def suspended_then_reinstated(world):
    """A's licence: admitted 60 days ago, granted 30 days ago, suspended 20→10 days ago, active since."""
    a = world.a
    with tenant_scope(a.body):
        suspension = services.do_impose_sanction(licence=a.licence, kind=Sanction.Kind.SUSPENSION,
                                                 starts_on=day(-20), reason="Major NC", by=a.officer)
        services.do_lift_sanction(sanction=suspension, by=a.officer, reason="Corrective actions closed", on=day(-10))
    return a


def test_verification_before_during_after_a_suspension(suspended_then_reinstated):
    a = suspended_then_reinstated
    number = a.certificate.full_number
    with public_reads():
        expectations = {-45: (False, "admission"), -25: (True, "active"), -15: (False, "suspended"),
                        -5: (True, "active"), 0: (True, "active")}
        for offset, (valid, state) in expectations.items():
            for reference in (number, a.product.quick_code):
                result = selectors.verify_delivery(reference, day(offset))
                assert result.found
                assert (result.valid_on_date, result.state_on_date) == (valid, state), (offset, reference)
        before = selectors.verify_delivery(number, day(-90))
        assert before.valid_on_date is False and before.state_on_date is None
        result = selectors.verify_delivery(number, day(-15))
        assert result.valid_now is True and result.current_state == "active"
        assert [h["state"] for h in result.history] == ["admission", "active", "suspended", "active"]
        assert not selectors.verify_delivery("ALPHA-BENOR-999999", day(0)).found
        assert not selectors.verify_delivery("00000000", day(0)).found


def test_suspension_publishes_status_events_and_regime_follows_sanctions(world):
    a = world.a
    received = []
    handler = events.subscribe(received.append)
    try:
        with tenant_scope(a.body):
            reinforced = services.do_impose_sanction(licence=a.licence, kind=Sanction.Kind.REINFORCED,
                                                     starts_on=day(0), reason="Repeated minor NCs", by=a.officer)
            a.licence.refresh_from_db()
            assert a.licence.inspection_regime == Licence.Regime.REINFORCED
            services.do_lift_sanction(sanction=reinforced, by=a.officer, reason="OK again")
            a.licence.refresh_from_db()
            assert a.licence.inspection_regime == Licence.Regime.NORMAL
            services.do_take_decision(licence=a.licence, kind=Decision.Kind.SUSPEND, by=a.officer, reason="NC")
            services.do_take_decision(licence=a.licence, kind=Decision.Kind.REINSTATE, by=a.officer, reason="ok")
            services.do_take_decision(licence=a.licence, kind=Decision.Kind.WITHDRAW, by=a.officer, reason="fraud")
            with pytest.raises(services.Refused):
                services.do_take_decision(licence=a.licence, kind=Decision.Kind.REINSTATE, by=a.officer, reason="x")
    finally:
        events._subscribers.remove(handler)
    statuses = [(e.type, e.subject, e.payload["status"]) for e in received]
    number = a.certificate.full_number
    assert statuses == [("certificate.status_changed", number, s) for s in ("suspended", "reinstated", "withdrawn")]


def test_appeal_deadline_and_committee_excludes_decider(world):
    a = world.a
    with tenant_scope(a.body):
        with pytest.raises(services.Refused):
            services.do_lodge_appeal(decision=a.decision, lodged_on=day(60), grounds="late")
        appeal = a.appeal
        with pytest.raises(services.ImpartialityViolation):
            services.do_set_appeal_committee(appeal=appeal, members=[a.officer, a.admin])
        with pytest.raises(services.Refused):
            services.do_set_appeal_committee(appeal=appeal, members=[world.b.admin])
        with pytest.raises(services.Refused):
            services.do_record_appeal_outcome(appeal=appeal, outcome=Appeal.Outcome.DISMISSED, reason="-", by=a.admin)
        services.do_set_appeal_committee(appeal=appeal, members=[a.admin, a.auditor])
        with pytest.raises(services.ImpartialityViolation):
            services.do_record_appeal_outcome(appeal=appeal, outcome=Appeal.Outcome.UPHELD, reason="-", by=a.officer)
        appeal = services.do_record_appeal_outcome(appeal=appeal, outcome=Appeal.Outcome.DISMISSED,
                                                   reason="Decision confirmed", by=a.admin)
        assert appeal.outcome == Appeal.Outcome.DISMISSED
        assert appeal.deadline == timezone.localdate(a.decision.decided_at) + dt.timedelta(days=30)


def test_public_pages_show_public_data_only(client, world):
    a = world.a
    secret = "SECRETA7731"
    pages = [
        reverse("public:directory"),
        reverse("public:directory") + f"?q={a.product.quick_code}",
        reverse("public:directory") + "?q=AC+14",
        reverse("public:directory") + f"?q={a.certificate.full_number}",
        reverse("public:product", kwargs={"quick_code": a.product.quick_code}),
        reverse("public:certificate", kwargs={"number": a.certificate.full_number}),
        reverse("public:verify") + f"?reference={a.certificate.full_number}&on_date={day(-1)}",
        reverse("public:verify-certificate", kwargs={"number": a.certificate.full_number}),
    ]
    for url in pages:
        response = client.get(url)
        text = response.content.decode()
        assert response.status_code == 200, url
        assert a.product.commercial_name in text, url
        assert secret not in text and a.holder.email not in text and "staff notes" not in text, url
    # a product that is not certified (no licence) is not in the directory, nor has a public page
    assert a.product2.commercial_name not in client.get(reverse("public:directory")).content.decode()
    assert client.get(reverse("public:product", kwargs={"quick_code": a.product2.quick_code})).status_code == 404
    # search by mark and category
    text = client.get(reverse("public:directory") + "?mark=benor&category=bituminous-mixtures").content.decode()
    assert a.product.commercial_name in text and world.b.product.commercial_name in text
    text = client.get(reverse("public:directory") + "?q=nothing-like-this").content.decode()
    assert a.product.commercial_name not in text
    # a withdrawn licence leaves the directory but verification still answers "not certified"
    with tenant_scope(a.body):
        services.do_take_decision(licence=a.licence, kind=Decision.Kind.WITHDRAW, by=a.officer, reason="x")
    assert a.product.commercial_name not in client.get(reverse("public:directory")).content.decode()
    text = client.get(reverse("public:verify") + f"?reference={a.product.quick_code}").content.decode()
    assert "Not certified" in text


def test_api_verify_is_public_and_answers_json(client, world):
    a = world.a
    url = reverse("api:verify-list")
    response = client.get(url, {"reference": a.certificate.full_number, "date": str(day(-1))})
    assert response.status_code == 200
    body = response.json()
    assert body["valid_on_date"] is True and body["holder"] == a.holder.name and "SECRET" not in response.content.decode()
    assert client.get(url, {"reference": a.certificate.full_number, "date": "yesterday"}).status_code == 400
    assert client.get(url, {"reference": "nope"}).status_code == 404
    assert client.get(url).status_code == 400


def test_api_reads_are_tenant_scoped(login, world):
    a, b = world.a, world.b
    client = login(a.admin)
    products = client.get(reverse("api:certified-product-list")).json()["results"]
    # other apps' worlds certify more products: expect exactly body A's certified products, none of B's
    with scopes_disabled("test"):
        certified = Product.objects.filter(licences__state__in=selectors.PUBLIC_LICENCE_STATES).distinct()
        own = set(certified.filter(body=a.body).values_list("quick_code", flat=True))
        foreign = set(certified.filter(body=b.body).values_list("quick_code", flat=True))
    assert a.product.quick_code in own and a.product2.quick_code not in own
    assert b.product.quick_code in foreign and not own & foreign
    codes = [p["quick_code"] for p in products]
    assert len(codes) == len(own) and set(codes) == own
    certificates = client.get(reverse("api:certificate-list")).json()["results"]
    assert [c["full_number"] for c in certificates] == [a.certificate.full_number]
    status = client.get(reverse("api:licence-status-detail", kwargs={"pk": a.licence.pk}),
                        {"date": str(day(-45))}).json()
    assert status["state_on_date"] == "admission" and status["valid_on_date"] is False
    assert client.get(reverse("api:certificate-detail", kwargs={"pk": b.certificate.pk})).status_code == 404
    portal = login(a.holder2_user)
    assert portal.get(reverse("api:certified-product-list")).json()["results"] == []
    assert login(None).get(reverse("api:certificate-list")).status_code in (401, 403)
