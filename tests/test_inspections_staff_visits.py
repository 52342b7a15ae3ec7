"""Staff pages to reschedule and cancel a visit (planner capability), and the staff visit list.

Both forms go through services.do_reschedule / do_cancel; a form loaded at an older Visit.row_version is refused
with the conflict shown and the input kept; rule violations are field errors and change nothing.
"""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from certification.access import has_object_grant
from certification.models import AuditEvent
from certification.tenancy import tenant_scope
from inspections import services
from inspections.models import Visit


@pytest.fixture
def a(world):
    with tenant_scope(world.a.body):
        yield world.a


@pytest.fixture
def visit(a):
    new = Visit.objects.create(body=a.body, licence=a.insp_licence, site=a.insp_site,
                               planned_for=timezone.localdate(), kind=Visit.Kind.PERIODIC)
    return services.do_assign(visit=new, inspector=a.inspector)


def url(name, visit):
    return reverse(f"staff:{name}", kwargs={"pk": visit.pk})


def events(action, visit):
    return AuditEvent.objects.filter(action=action, object_id=str(visit.pk))


def reschedule(client, visit, day, version=None, reason=""):
    return client.post(url("visit-reschedule", visit), {
        "reschedule-planned_for": day.isoformat() if isinstance(day, dt.date) else day,
        "reschedule-reason": reason,
        "reschedule-row_version": visit.row_version if version is None else version})


def cancel(client, visit, reason, version=None):
    return client.post(url("visit-cancel", visit), {
        "cancel-reason": reason, "cancel-row_version": visit.row_version if version is None else version})


def form_html(response, form_id):
    match = re.search(rf'<form[^>]*id="{form_id}".*?</form>', response.content.decode(), re.S)
    assert match, f"no form #{form_id} on the page"
    return match.group(0)


def unchanged(visit):
    before = (visit.planned_for, visit.state, visit.inspector_id, visit.row_version)
    fresh = Visit.objects.get(pk=visit.pk)
    return (fresh.planned_for, fresh.state, fresh.inspector_id, fresh.row_version) == before


# --- reschedule ----------------------------------------------------------------------------------------------


def test_planner_reschedules_a_visit(a, visit, login):
    client = login(a.admin)
    page = client.get(url("visit-detail", visit))
    form = form_html(page, "reschedule-form")
    assert f'value="{visit.planned_for.isoformat()}"' in form and f'value="{visit.row_version}"' in form
    new_day = timezone.localdate() + dt.timedelta(days=14)
    response = reschedule(client, visit, new_day, reason="Plant shut for maintenance")
    assert response.status_code == 302 and response["Location"] == url("visit-detail", visit)
    moved = Visit.objects.get(pk=visit.pk)
    assert (moved.planned_for, moved.row_version, moved.state) == (new_day, visit.row_version + 1, "assigned")
    assert has_object_grant(a.inspector, "inspections.change_visit", moved)  # the inspector keeps the visit
    event = events("visit.reschedule", visit).get()
    assert event.reason == "Plant shut for maintenance" and event.actor == a.admin
    page = client.get(url("visit-detail", visit))
    assertContains(page, f"Visit moved to {new_day.isoformat()}.")
    assertContains(page, "Plant shut for maintenance")  # the history shows why


def test_stale_reschedule_is_refused_with_the_conflict_shown_and_the_input_kept(a, visit, login):
    client = login(a.admin)
    loaded_at = visit.row_version
    meanwhile = timezone.localdate() + dt.timedelta(days=7)
    services.do_reschedule(visit=visit, planned_for=meanwhile, reason="moved by a colleague")
    mine = timezone.localdate() + dt.timedelta(days=21)
    response = reschedule(client, visit, mine, version=loaded_at, reason="my reason")
    assert response.status_code == 200
    fresh = Visit.objects.get(pk=visit.pk)
    assert fresh.planned_for == meanwhile and fresh.row_version == loaded_at + 1  # nothing overwritten
    assert events("visit.reschedule", visit).count() == 1
    html = response.content.decode()
    assert 'id="conflict"' in html and "Changed by someone else meanwhile" in html
    conflict = re.search(r'<div class="card conflict".*?</div>', html, re.S).group(0)
    assert mine.isoformat() in conflict and "my reason" in conflict  # what I asked for
    assert f'class="now-planned-for">{meanwhile.isoformat()}<' in conflict  # what is stored now
    form = form_html(response, "reschedule-form")
    assert f'value="{mine.isoformat()}"' in form and 'value="my reason"' in form  # my input is kept
    assert f'value="{fresh.row_version}"' in form and "Nothing was saved" in form
    # Sending the kept form again is a deliberate choice against the current version: it applies.
    data = {"reschedule-planned_for": mine.isoformat(), "reschedule-reason": "my reason",
            "reschedule-row_version": re.search(r'name="reschedule-row_version" value="(\d+)"', form).group(1)}
    assert client.post(url("visit-reschedule", visit), data).status_code == 302
    assert Visit.objects.get(pk=visit.pk).planned_for == mine


def test_a_day_the_inspector_cannot_take_is_a_field_error_and_nothing_changes(a, visit, login):
    client = login(a.admin)
    visit.refresh_from_db()
    qualification = a.insp_profiles[0].qualifications.get()
    qualification.valid_until = timezone.localdate() + dt.timedelta(days=10)
    qualification.save()
    too_late = timezone.localdate() + dt.timedelta(days=20)
    response = reschedule(client, visit, too_late)
    assert response.status_code == 200 and unchanged(visit)
    form = form_html(response, "reschedule-form")
    assert 'id="id_reschedule-planned_for_error"' in form and "Not qualified on" in form
    assert f'value="{too_late.isoformat()}"' in form
    # A conflict of interest in force on the new day (declared from then on) is refused the same way.
    qualification.valid_until = None
    qualification.save()
    conflict_day = timezone.localdate() + dt.timedelta(days=30)
    services.do_declare_conflict(profile=a.insp_profiles[0], holder=a.holder, reason="Joins the holder's board",
                                 declared_on=conflict_day)
    response = reschedule(client, visit, conflict_day + dt.timedelta(days=1))
    assert unchanged(visit)
    assert "conflict of interest" in form_html(response, "reschedule-form")
    # Still fine before the conflict starts.
    assert reschedule(client, visit, conflict_day - dt.timedelta(days=1)).status_code == 302
    assert events("visit.reschedule", visit).count() == 1


def test_reschedule_input_errors_and_states_that_do_not_allow_it(a, visit, login):
    client = login(a.admin)
    visit.refresh_from_db()
    response = reschedule(client, visit, "31/02/2030")
    assert unchanged(visit) and 'id="id_reschedule-planned_for_error"' in form_html(response, "reschedule-form")
    response = reschedule(client, visit, visit.planned_for)
    assert unchanged(visit) and "already planned on that day" in form_html(response, "reschedule-form")
    # A visit already under way cannot be moved: the service's refusal shows above the form.
    services.do_start(visit=visit)
    visit.refresh_from_db()
    page = client.get(url("visit-detail", visit)).content.decode()
    assert 'id="reschedule-form"' not in page and 'id="cancel-form"' not in page
    response = reschedule(client, visit, timezone.localdate() + dt.timedelta(days=3))
    assert response.status_code == 200 and unchanged(visit)
    assert "Visit is in progress" in form_html(response, "reschedule-form")
    assert not events("visit.reschedule", visit).exists()


# --- cancel ----------------------------------------------------------------------------------------------------


def test_planner_cancels_a_visit_and_it_leaves_the_lists(a, visit, login):
    client = login(a.admin)
    home = login(a.inspector).get(reverse("inspector:home")).content.decode()
    assert f"/inspector/visits/{visit.pk}/" in home
    client = login(a.admin)
    visit.refresh_from_db()
    response = cancel(client, visit, "  ")
    assert response.status_code == 200 and unchanged(visit)
    assert 'id="id_cancel-reason_error"' in form_html(response, "cancel-form")
    response = cancel(client, visit, "Licence renounced by the holder")
    assert response.status_code == 302
    cancelled = Visit.objects.get(pk=visit.pk)
    assert cancelled.state == Visit.State.CANCELLED and cancelled.cancelled_at is not None
    assert not has_object_grant(a.inspector, "inspections.change_visit", cancelled)
    assert events("visit.cancel", visit).get().reason == "Licence renounced by the holder"
    page = client.get(url("visit-detail", visit))
    html = page.content.decode()
    assert 'id="cancelled-badge"' in html and "Visit cancelled." in html
    assert re.search(r'id="cancellation">[^<]*Licence renounced by the holder', html)
    assert 'id="reschedule-form"' not in html and 'id="cancel-form"' not in html
    assert f'action="{url("visit-assign", visit)}"' not in html
    # The staff list leaves it out by default; the checkbox or the state filter brings it back, with its badge.
    row = f'data-visit="{visit.pk}"'
    listing = reverse("staff:visit-list")
    assertNotContains(client.get(listing), row)
    for query in ({"cancelled": "on"}, {"state": "cancelled"}):
        html = client.get(listing, query).content.decode()
        assert re.search(rf'<tr {row} class="cancelled">.*?badge status-cancelled', html, re.S), query
    assertNotContains(client.get(listing, {"state": "assigned", "cancelled": "on"}), row)
    # The licence page lists it with the badge and a link to it.
    licence_page = client.get(reverse("staff:licence-detail", kwargs={"pk": a.insp_licence.pk})).content.decode()
    assert re.search(rf'href="{url("visit-detail", visit)}">[^<]*</a> — <span class="badge status-cancelled">',
                     licence_page)
    # The inspector no longer sees it, on the list or the page.
    inspector = login(a.inspector)
    assert f"/inspector/visits/{visit.pk}/" not in inspector.get(reverse("inspector:home")).content.decode()
    assert inspector.get(reverse("inspector:visit", kwargs={"pk": visit.pk})).status_code == 404
    # Cancelling twice is refused by the service, shown on the form.
    response = cancel(login(a.admin), cancelled, "again")
    assert "Visit is cancelled" in form_html(response, "cancel-form")
    assert events("visit.cancel", visit).count() == 1


def test_stale_cancel_is_refused_with_the_conflict_shown_and_the_reason_kept(a, visit, login):
    client = login(a.admin)
    loaded_at = visit.row_version
    services.do_assign(visit=visit, inspector=a.inspector2, reason="holiday")
    response = cancel(client, visit, "Holder asked to postpone", version=loaded_at)
    assert response.status_code == 200
    fresh = Visit.objects.get(pk=visit.pk)
    assert fresh.state == Visit.State.ASSIGNED and fresh.inspector == a.inspector2
    assert not events("visit.cancel", visit).exists()
    conflict = re.search(r'<div class="card conflict".*?</div>', response.content.decode(), re.S).group(0)
    assert "Holder asked to postpone" in conflict and str(a.inspector2) in conflict
    form = form_html(response, "cancel-form")
    assert "Holder asked to postpone" in form and f'value="{fresh.row_version}"' in form


def test_the_visit_list_filters_by_date(a, visit, login):
    client = login(a.admin)
    later = services.do_create_visit(licence=a.insp_licence, kind=Visit.Kind.FOLLOW_UP,
                                     planned_for=timezone.localdate() + dt.timedelta(days=60))
    listing = reverse("staff:visit-list")
    html = client.get(listing).content.decode()
    assert f'data-visit="{visit.pk}"' in html and f'data-visit="{later.pk}"' in html
    html = client.get(listing, {"planned_from": (timezone.localdate() + dt.timedelta(days=30)).isoformat()}).content
    assert f'data-visit="{later.pk}"'.encode() in html and f'data-visit="{visit.pk}"'.encode() not in html
    html = client.get(listing, {"planned_until": timezone.localdate().isoformat()}).content
    assert f'data-visit="{visit.pk}"'.encode() in html and f'data-visit="{later.pk}"'.encode() not in html
    assert client.get(listing, {"planned_from": "not a date"}).status_code == 200  # shown as a field error


# --- who may ---------------------------------------------------------------------------------------------------


def test_only_planners_of_the_body_may_reschedule_or_cancel(a, visit, login, world):
    day = timezone.localdate() + dt.timedelta(days=5)
    visit.refresh_from_db()
    # Another body's staff: the same 404 as for a visit that does not exist.
    assert reschedule(login(world.b.admin), visit, day).status_code == 404
    assert cancel(login(world.b.admin), visit, "not yours").status_code == 404
    # Inside the body, without planning.manage: the inspector (even the assigned one) and the auditor.
    for user in (a.inspector, a.inspector2, a.auditor):
        assert reschedule(login(user), visit, day).status_code == 403
        assert cancel(login(user), visit, "no right").status_code == 403
    # The auditor may look at the visit, without the forms.
    page = login(a.auditor).get(url("visit-detail", visit)).content.decode()
    assert 'id="reschedule-form"' not in page and 'id="cancel-form"' not in page
    # Portal and anonymous.
    assert reschedule(login(a.holder_user), visit, day).status_code == 403
    response = cancel(login(None), visit, "anonymous")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    # GET is not a way in either.
    assert login(a.admin).get(url("visit-cancel", visit)).status_code == 405
    assert unchanged(visit)
    assert not events("visit.reschedule", visit).exists() and not events("visit.cancel", visit).exists()
