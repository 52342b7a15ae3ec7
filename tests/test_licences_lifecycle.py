"""Time-driven licence changes: sanctions ending on their end date, expiry, expiry notices, the beat job.

Dates are fixed by the tests (licences set up with dates relative to today, services called with ``today=`` /
``now=``): nothing sleeps. Each test asserts on the licences it creates; the shared world holds other rows.
"""

import datetime as dt
import re

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from certification import events
from certification.api import services as api_services
from certification.models import AuditEvent, WebhookDelivery
from certification.tenancy import ScopeError, current_scope, public_reads, scopes_disabled, tenant_scope
from licences import selectors, services, tasks
from licences.models import Decision, Licence, LicenceExpiryNotice, LicenceStateChange, Sanction
from tests.worlds.licences import granted_licence

pytestmark = pytest.mark.django_db


def day(offset):
    return timezone.localdate() + dt.timedelta(days=offset)


def start_of(offset):
    return timezone.make_aware(dt.datetime.combine(day(offset), dt.time.min))


_names = iter(range(1, 10_000))


def new_licence(a, expires_in=None):
    """A licence of A's holder for a product of its own: admitted 60 days ago, granted 30 days ago."""
    with tenant_scope(a.body):
        product = services.do_add_product(holder=a.holder, site=a.site, category=a.category,
                                          commercial_name=f"Lifecycle mix {next(_names)}")
        application, _ = granted_licence(a, a.holder, a.site, [product], a.lic_version, a.officer)
        licence = application.licence
        if expires_in is not None:
            Licence.objects.filter(pk=licence.pk).update(expires_on=day(expires_in))
        licence.refresh_from_db()
        certificate = services.current_certificate(licence)
    return licence, product, certificate


def history(licence):
    with scopes_disabled("test"):
        return [(h.state, h.effective_from) for h in LicenceStateChange.objects.filter(licence=licence)
                .order_by("effective_from", "pk")]


def audit_actions(obj):
    with scopes_disabled("test"):
        return list(AuditEvent.objects.filter(object_id=str(obj.pk), object_type__model=obj._meta.model_name)
                    .order_by("pk").values_list("action", flat=True))


@pytest.fixture
def published():
    received = []
    handler = events.subscribe(received.append)
    yield received
    events._subscribers.remove(handler)


def statuses(received, subject):
    return [e.payload["status"] for e in received if e.subject == subject and e.type == "certificate.status_changed"]


def test_suspension_ends_on_its_end_date_once(world, published):
    a = world.a
    licence, product, certificate = new_licence(a)
    with tenant_scope(a.body):
        suspension = services.do_impose_sanction(licence=licence, kind=Sanction.Kind.SUSPENSION, starts_on=day(-10),
                                                 ends_on=day(-2), reason="Major NC", by=a.officer)
        licence.refresh_from_db()
        assert licence.state == Licence.State.SUSPENDED
        # the day before the end date: nothing is due
        assert services.run_due_lifecycle(today=day(-3))["errors"] == 0
        suspension.refresh_from_db()
        licence.refresh_from_db()
        assert suspension.lifted_at is None and licence.state == Licence.State.SUSPENDED
        counts = services.run_due_lifecycle()
        assert counts["sanctions_ended"] >= 1 and counts["errors"] == 0
    licence.refresh_from_db()
    suspension.refresh_from_db()
    assert licence.state == Licence.State.ACTIVE
    assert suspension.lifted_at is not None and suspension.lifted_by is None
    assert history(licence)[-1] == ("active", start_of(-2))  # from the end date, not from when the job ran
    assert statuses(published, certificate.full_number) == ["issued", "suspended", "reinstated"]
    assert audit_actions(suspension) == ["sanction.impose", "sanction.end"]
    # idempotent: a second run changes nothing and announces nothing
    before = (history(licence), audit_actions(suspension), audit_actions(licence), len(published))
    with tenant_scope(a.body):
        assert services.do_end_sanction(sanction=suspension) is None
        services.run_due_lifecycle()
    assert (history(licence), audit_actions(suspension), audit_actions(licence), len(published)) == before
    with public_reads():
        during, after = (selectors.verify_delivery(product.quick_code, day(n)) for n in (-5, -1))
    assert (during.valid_on_date, during.state_on_date) == (False, "suspended")
    assert (after.valid_on_date, after.state_on_date) == (True, "active")


def test_a_suspension_reinstated_by_hand_then_suspended_again_is_not_ended_by_the_old_end_date(world):
    a = world.a
    licence, _, _ = new_licence(a)
    with tenant_scope(a.body):
        old = services.do_impose_sanction(licence=licence, kind=Sanction.Kind.SUSPENSION, starts_on=day(-10),
                                          ends_on=day(-1), reason="NC", by=a.officer)
        services.do_take_decision(licence=licence, kind=Decision.Kind.REINSTATE, by=a.officer, reason="fixed early",
                                  effective_from=start_of(-8))
        services.do_take_decision(licence=licence, kind=Decision.Kind.SUSPEND, by=a.officer, reason="new NC",
                                  effective_from=start_of(-4))
        assert services.do_end_sanction(sanction=old) is not None  # the old sanction closes…
    licence.refresh_from_db()
    assert licence.state == Licence.State.SUSPENDED  # …but the newer suspension stays in force
    assert history(licence)[-1] == ("suspended", start_of(-4))


def test_reinforced_inspection_and_warning_end_and_withdrawal_has_no_end(world):
    a = world.a
    licence, _, _ = new_licence(a)
    with tenant_scope(a.body):
        reinforced = services.do_impose_sanction(licence=licence, kind=Sanction.Kind.REINFORCED, starts_on=day(-30),
                                                 ends_on=day(0), reason="Repeated minor NCs", by=a.officer)
        warning = services.do_impose_sanction(licence=licence, kind=Sanction.Kind.WARNING, starts_on=day(-30),
                                              ends_on=day(5), reason="Late results", by=a.officer)
        licence.refresh_from_db()
        assert licence.inspection_regime == Licence.Regime.REINFORCED
        services.run_due_lifecycle()
        licence.refresh_from_db()
        reinforced.refresh_from_db()
        warning.refresh_from_db()
        assert licence.inspection_regime == Licence.Regime.NORMAL and reinforced.lifted_at is not None
        assert warning.lifted_at is None  # ends in five days
        services.run_due_lifecycle(today=day(5))
        warning.refresh_from_db()
        assert warning.lifted_at is not None and licence.state == Licence.State.ACTIVE
        with pytest.raises(services.Refused, match="final"):
            services.do_impose_sanction(licence=licence, kind=Sanction.Kind.WITHDRAWAL, starts_on=day(0),
                                        ends_on=day(10), reason="x", by=a.officer)


def test_a_change_recorded_for_later_takes_effect_when_its_time_comes(world):
    a = world.a
    licence, _, _ = new_licence(a)
    later = timezone.now() + dt.timedelta(hours=1)
    with tenant_scope(a.body):
        services.do_take_decision(licence=licence, kind=Decision.Kind.SUSPEND, by=a.officer, reason="from 1h",
                                  effective_from=later)
        licence.refresh_from_db()
        assert licence.state == Licence.State.ACTIVE  # not yet
        services.run_due_lifecycle(now=later - dt.timedelta(minutes=1))
        licence.refresh_from_db()
        assert licence.state == Licence.State.ACTIVE
        counts = services.run_due_lifecycle(now=later + dt.timedelta(minutes=1))
        licence.refresh_from_db()
        assert licence.state == Licence.State.SUSPENDED and counts["took_effect"] >= 1
        assert audit_actions(licence).count("licence.state_effective") == 1
        services.run_due_lifecycle(now=later + dt.timedelta(minutes=2))
    assert audit_actions(licence).count("licence.state_effective") == 1


def test_licence_expires_after_its_expiry_date_and_verification_follows(world, published, client):
    a = world.a
    licence, product, certificate = new_licence(a, expires_in=-3)  # valid until three days ago
    tomorrow_expiring, _, _ = new_licence(a, expires_in=1)
    with tenant_scope(a.body):
        subscription = api_services.do_create_subscription(
            api_key=a.api_key.api_key, url="https://partner.example.com/hook", certificates=[certificate.full_number])
        assert services.do_expire_licence(licence=licence, today=day(-3)) is None  # its last valid day
        counts = services.run_due_lifecycle()
        assert counts["expired"] >= 1 and counts["errors"] == 0
    licence.refresh_from_db()
    tomorrow_expiring.refresh_from_db()
    assert licence.state == Licence.State.EXPIRED
    assert tomorrow_expiring.state == Licence.State.ACTIVE
    assert history(licence)[-1] == ("expired", start_of(-2))
    assert statuses(published, certificate.full_number) == ["issued", "expired"]
    assert "licence.expire" in audit_actions(licence)
    with scopes_disabled("test"):
        deliveries = list(WebhookDelivery.objects.filter(subscription=subscription))
    assert [(d.subject, d.payload["data"]["status"]) for d in deliveries] == [(certificate.full_number, "expired")]
    # idempotent
    before = (history(licence), audit_actions(licence), len(published))
    with tenant_scope(a.body):
        assert services.do_expire_licence(licence=licence) is None
        services.run_due_lifecycle()
    assert (history(licence), audit_actions(licence), len(published)) == before

    with public_reads():
        for reference in (certificate.full_number, product.quick_code):
            before_expiry = selectors.verify_delivery(reference, day(-4))
            after_expiry = selectors.verify_delivery(reference, day(-1))
            assert (before_expiry.valid_on_date, before_expiry.state_on_date) == (True, "active"), reference
            assert (after_expiry.valid_on_date, after_expiry.state_on_date) == (False, "expired"), reference
            assert after_expiry.valid_now is False and after_expiry.current_state == "expired"
        assert not selectors.public_products().filter(pk=product.pk).exists()

    api = client.get("/api/v1/verify/", {"reference": certificate.full_number, "date": day(-1).isoformat()})
    assert api.status_code == 200
    assert (api.json()["valid_on_date"], api.json()["state_on_date"]) == (False, "expired")
    api = client.get("/api/v1/verify/", {"reference": certificate.full_number, "date": day(-3).isoformat()})
    assert (api.json()["valid_on_date"], api.json()["state_on_date"]) == (True, "active")
    url = reverse("public:verify-certificate", kwargs={"number": certificate.full_number})
    page = client.get(url, {"on_date": day(-1).isoformat()}).content.decode()
    status_on_date = page.split('id="status-on-date"')[1].split("</dd>")[0]
    assert "Not certified" in status_on_date and "expired" in status_on_date
    page = client.get(url, {"on_date": day(-4).isoformat()}).content.decode()
    assert "Certified" in page.split('id="status-on-date"')[1].split("</dd>")[0]
    assert "Not certified" not in page.split('id="status-on-date"')[1].split("</dd>")[0]


def test_verification_is_not_certified_after_the_expiry_date_even_before_the_job_ran(world, client):
    a = world.a
    licence, product, certificate = new_licence(a, expires_in=10)
    with public_reads():
        inside, outside = (selectors.verify_delivery(certificate.full_number, day(n)) for n in (10, 11))
    assert (inside.valid_on_date, inside.state_on_date) == (True, "active")
    assert (outside.valid_on_date, outside.state_on_date) == (False, "expired")
    api = client.get("/api/v1/verify/", {"reference": product.quick_code, "date": day(30).isoformat()})
    assert (api.json()["valid_on_date"], api.json()["state_on_date"]) == (False, "expired")
    licence.refresh_from_db()
    assert licence.state == Licence.State.ACTIVE
    last_day = client.get("/api/v1/verify/", {"reference": product.quick_code, "date": "9999-12-31"})
    assert last_day.status_code == 200 and last_day.json()["state_on_date"] == "expired"
    page = client.get(reverse("public:verify-certificate", kwargs={"number": certificate.full_number}),
                      {"on_date": "9999-12-31"})
    assert page.status_code == 200


def test_a_licence_that_lapses_while_suspended_expires_instead_of_coming_back(world):
    a = world.a
    licence, _, _ = new_licence(a, expires_in=-5)
    with tenant_scope(a.body):
        Licence.objects.filter(pk=licence.pk).update(expires_on=None)
        services.do_impose_sanction(licence=licence, kind=Sanction.Kind.SUSPENSION, starts_on=day(-10),
                                    ends_on=day(-1), reason="NC", by=a.officer)
        Licence.objects.filter(pk=licence.pk).update(expires_on=day(-5))
        services.run_due_lifecycle()
    licence.refresh_from_db()
    assert licence.state == Licence.State.EXPIRED
    assert [s for s, _ in history(licence)][-2:] == ["suspended", "expired"]
    assert history(licence)[-1][1] == start_of(-4)


def test_expiry_notices_once_per_threshold(world, mailoutbox, django_capture_on_commit_callbacks, settings):
    settings.LICENCE_EXPIRY_NOTICE_DAYS = [90, 30]
    a = world.a
    licence, _, _ = new_licence(a, expires_in=100)
    short, _, _ = new_licence(a, expires_in=20)  # first seen inside the 30-day window: the 90-day notice is moot

    def run(offset):
        with tenant_scope(a.body), django_capture_on_commit_callbacks(execute=True):
            assert services.run_due_lifecycle(today=day(offset))["errors"] == 0

    def mails(lic):
        return [m for m in mailoutbox if lic.number in m.subject]

    for offset in (0, 5, 9):
        run(offset)
    assert mails(licence) == []
    run(10)  # 90 days left
    assert len(mails(licence)) == 1 and "90 days" in mails(licence)[0].body
    assert sorted(mails(licence)[0].to) == sorted([a.holder.email.lower(), a.holder_user.email.lower()])
    for offset in (10, 11, 40, 69):
        run(offset)
    assert len(mails(licence)) == 1
    run(70)  # 30 days left
    run(71)
    run(99)
    assert [re.search(r"\((\d+) days from", m.body).group(1) for m in mails(licence)] == ["90", "30"]
    assert len(mails(short)) == 1 and "(20 days" in mails(short)[0].body
    with scopes_disabled("test"):
        notices = list(LicenceExpiryNotice.objects.filter(licence=licence).order_by("threshold_days")
                       .values_list("threshold_days", "days_left", "expires_on"))
        assert notices == [(30, 30, day(100)), (90, 90, day(100))]
        assert list(LicenceExpiryNotice.objects.filter(licence=short).values_list("threshold_days", flat=True)) == [30]
        assert AuditEvent.objects.filter(action="licence.expiry_notice", body=a.body,
                                         object_id__in=[str(n.pk) for n in LicenceExpiryNotice.objects.filter(
                                             licence=licence)]).count() == 2
    # a renewed licence (new expiry date) gets its notices again
    with tenant_scope(a.body):
        Licence.objects.filter(pk=licence.pk).update(expires_on=day(500))
    run(411)
    assert len(mails(licence)) == 3


def test_the_portal_shows_the_expiry_notice(world, login, django_capture_on_commit_callbacks):
    a = world.a
    licence, _, _ = new_licence(a, expires_in=25)
    with tenant_scope(a.body), django_capture_on_commit_callbacks(execute=True):
        services.run_due_lifecycle()
    page = login(a.holder_user).get(reverse("portal:home")).content.decode()
    assert f"{licence.number}" in page and f"expires on {day(25):%Y-%m-%d}" in page


def test_beat_job_fans_out_per_body_and_the_body_task_runs_in_its_scope(world, monkeypatch):
    a, b = world.a, world.b
    queued = []
    monkeypatch.setattr(tasks.run_licence_lifecycle_for_body, "delay", queued.append)
    assert tasks.run_licence_lifecycle() == len(queued)
    assert {a.body.pk, b.body.pk} <= set(queued)
    licence, _, _ = new_licence(a, expires_in=-1)
    assert current_scope() is None
    counts = tasks.run_licence_lifecycle_for_body(a.body.pk)  # the task's code, called in-process
    assert counts["expired"] >= 1 and counts["errors"] == 0
    assert current_scope() is None
    licence.refresh_from_db()
    assert licence.state == Licence.State.EXPIRED
    with pytest.raises(ScopeError):
        services.run_due_lifecycle()  # no scope, no work
    from django.conf import settings

    assert settings.CELERY_BEAT_SCHEDULE["licences-lifecycle"]["task"] == "licences.tasks.run_licence_lifecycle"


def test_management_command_runs_it_now(world, capsys):
    a = world.a
    licence, _, _ = new_licence(a, expires_in=-1)
    call_command("run_licence_lifecycle", "--body", a.body.code)
    assert f"{a.body.code}: took_effect" in capsys.readouterr().out
    licence.refresh_from_db()
    assert licence.state == Licence.State.EXPIRED
    with pytest.raises(CommandError):
        call_command("run_licence_lifecycle", "--body", "no-such-body")


def test_renewal_extends_validity_reissues_the_certificate_and_rearms_notices(world, login, mailoutbox,
                                                                            django_capture_on_commit_callbacks):
    a = world.a
    licence, product, certificate = new_licence(a, expires_in=20)
    with tenant_scope(a.body), django_capture_on_commit_callbacks(execute=True):
        assert services.run_due_lifecycle()["errors"] == 0
        assert LicenceExpiryNotice.objects.filter(licence=licence).count() == 1
        with pytest.raises(services.Refused, match="years"):
            services.do_take_decision(licence=licence, kind=Decision.Kind.RENEW, by=a.officer, reason="renewal")
    response = login(a.officer).post(reverse("staff:licence-decide", kwargs={"pk": licence.pk}), {
        "kind": "renew", "reason": "Periodic review conclusive", "valid_years": 2, "language": "en"})
    assert response.status_code == 302
    licence.refresh_from_db()
    assert licence.expires_on == services.add_years(day(20), 2)
    with tenant_scope(a.body):
        renewed = services.current_certificate(licence)
        assert (renewed.version, renewed.valid_until) == (certificate.version + 1, licence.expires_on)
        assert services.do_send_expiry_notice(licence=licence) is None  # the new date is far away
        assert services.do_send_expiry_notice(licence=licence, today=licence.expires_on - dt.timedelta(days=80))
        no_expiry, _, _ = new_licence(a)
        with pytest.raises(services.Refused, match="no expiry date"):
            services.do_take_decision(licence=no_expiry, kind=Decision.Kind.RENEW, by=a.officer, reason="x",
                                      valid_years=1)
    with public_reads():
        assert selectors.verify_delivery(product.quick_code, day(25)).valid_on_date is True
    assert services.add_years(dt.date(2028, 2, 29), 1) == dt.date(2029, 2, 28)


def test_staff_licence_page_flags_a_certificate_that_no_longer_matches(world, login):
    a = world.a
    licence, product, _ = new_licence(a)
    url = reverse("staff:licence-detail", kwargs={"pk": licence.pk})
    staff = login(a.officer)
    assert 'id="certificate-outdated"' not in staff.get(url).content.decode()
    with tenant_scope(a.body):
        services.do_update_product(product=product, changes={"commercial_name": "Renamed after issue"})
    page = staff.get(url).content.decode()
    assert 'id="certificate-outdated"' in page and "products" in page.split('id="certificate-outdated"')[1][:300]
    with tenant_scope(a.body):
        services.do_issue_certificate(licence=licence, by=a.officer)
    assert 'id="certificate-outdated"' not in staff.get(url).content.decode()
