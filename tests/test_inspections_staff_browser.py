"""A planner reschedules a visit in the back-office (Debian chromium), then cancels another one."""

import datetime as dt

import pytest
from django.utils import timezone

from certification.models import AuditEvent
from certification.tenancy import tenant_scope
from inspections import services
from inspections.models import Visit
from tests.browser import browser, log_in
from tests.world import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_planner_reschedules_then_cancels_a_visit_in_the_browser(live_server, world, tmp_path):
    a = world.a
    with tenant_scope(a.body):
        visit = services.do_assign(visit=Visit.objects.create(
            body=a.body, licence=a.insp_licence, site=a.insp_site, planned_for=timezone.localdate(),
            kind=Visit.Kind.PERIODIC), inspector=a.inspector)
        other = services.do_create_visit(licence=a.insp_licence, kind=Visit.Kind.FOLLOW_UP,
                                         planned_for=timezone.localdate() + dt.timedelta(days=3))
    new_day = timezone.localdate() + dt.timedelta(days=9)
    base = live_server.url
    with browser() as chromium:
        page = chromium.new_page()
        page.set_default_timeout(20000)
        log_in(page, base, a.admin.email, PASSWORD)
        page.goto(f"{base}/staff/inspections/visits/")
        page.click(f"tr[data-visit='{visit.pk}'] a")
        page.wait_for_url(f"**/staff/inspections/visits/{visit.pk}/")
        # A day the inspector is not qualified for: a field error, nothing moves, the date typed stays.
        with tenant_scope(a.body):
            qualification = a.insp_profiles[0].qualifications.get()
            qualification.valid_until = new_day - dt.timedelta(days=1)
            qualification.save()
        page.fill("#id_reschedule-planned_for", new_day.isoformat())
        page.fill("#id_reschedule-reason", "Plant shut for maintenance")
        page.click("#reschedule-form button[type=submit]")
        error = page.locator("#id_reschedule-planned_for_error")
        error.wait_for()
        assert "Not qualified on" in error.inner_text()
        assert page.input_value("#id_reschedule-planned_for") == new_day.isoformat()
        with tenant_scope(a.body):
            assert Visit.objects.get(pk=visit.pk).planned_for == timezone.localdate()
            qualification.valid_until = None
            qualification.save()
        # Qualified again: the same form, sent again, moves the visit.
        page.click("#reschedule-form button[type=submit]")
        page.wait_for_selector(f"text=Visit moved to {new_day.isoformat()}.")
        assert new_day.isoformat() in page.inner_text("table.facts")
        assert "Plant shut for maintenance" in page.inner_text("#visit-history")
        # Cancel the other visit: it gets the badge and leaves the default list.
        page.goto(f"{base}/staff/inspections/visits/{other.pk}/")
        page.fill("#id_cancel-reason", "Finding closed on documents")
        page.click("#cancel-form button[type=submit]")
        page.locator("#cancelled-badge").wait_for()
        assert "Finding closed on documents" in page.inner_text("#cancellation")
        page.screenshot(path=str(tmp_path / "visit-cancelled.png"), full_page=True)
        page.goto(f"{base}/staff/inspections/visits/")
        assert page.locator(f"tr[data-visit='{visit.pk}']").count() == 1
        assert page.locator(f"tr[data-visit='{other.pk}']").count() == 0
        page.check("#id_cancelled")
        page.click("#visit-filters button[type=submit]")
        page.wait_for_url("**cancelled=on**")
        assert "Cancelled" in page.inner_text(f"tr[data-visit='{other.pk}'] .badge")
    with tenant_scope(a.body):
        assert Visit.objects.get(pk=visit.pk).planned_for == new_day
        assert Visit.objects.get(pk=other.pk).state == Visit.State.CANCELLED
        assert AuditEvent.objects.filter(action="visit.reschedule", object_id=str(visit.pk), actor=a.admin).count() == 1
