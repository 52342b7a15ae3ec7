"""Visits over the REST API: list filters and scoping, retrieve with findings, plan / reschedule / (re)assign /
cancel through the inspections services (qualification and conflict-of-interest rules), Idempotency-Key,
If-Match from row_version, capabilities per role, inspector-role callers, and two peers of two bodies."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from certification import services as body_services
from certification.access import has_object_grant
from certification.api import services as api_services
from certification.models import AuditEvent, Role
from certification.tenancy import scopes_disabled, tenant_scope
from inspections import services
from inspections.models import Visit
from tests.api_support import issue_key, key_client, make_api_world

pytestmark = pytest.mark.django_db

DAY = dt.date(2041, 3, 12)  # far from the world's own visits (planned today)


@pytest.fixture
def api_world(world):
    return make_api_world(world)


def plan(ns, planned_for=DAY, inspector=None, kind=Visit.Kind.FOLLOW_UP):
    with tenant_scope(ns.body):
        visit = services.do_create_visit(licence=ns.insp_licence, kind=kind, planned_for=planned_for)
        if inspector is not None:
            visit = services.do_assign(visit=visit, inspector=inspector)
        return visit


def reload(ns, visit):
    with tenant_scope(ns.body):
        return Visit.objects.select_related("inspector").get(pk=visit.pk)


def url(visit, suffix=""):
    return f"/api/v1/visits/{visit.pk}/{suffix}"


def events(action, visit):
    with scopes_disabled("test"):
        return AuditEvent.objects.filter(action=action, object_id=str(visit.pk)).count()


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def new_inspector(ns, email, valid_until=None):
    """An inspector of ns's body qualified for the licence's category until ``valid_until``."""
    with tenant_scope(ns.body):
        user = body_services.do_add_member(body=ns.body, email=email, role=Role.INSPECTOR).user
        profile = services.do_create_inspector_profile(body=ns.body, user=user)
        services.do_add_qualification(profile=profile, category=ns.insp_category, valid_from=dt.date(2020, 1, 1),
                                      valid_until=valid_until)
        return user, profile


# --- reads ---------------------------------------------------------------------------------------


def test_list_is_scoped_and_filtered(api_world):
    a = api_world.a
    first = plan(a, DAY)
    second = plan(a, DAY + dt.timedelta(days=10), inspector=a.inspector)
    late = plan(a, DAY + dt.timedelta(days=400))
    b_visit = plan(api_world.b, DAY)
    client = key_client(a.key.token)
    window = {"planned_from": "2041-01-01", "planned_until": "2041-12-31"}
    assert ids(client.get("/api/v1/visits/", window)) == [first.pk, second.pk]
    assert ids(client.get("/api/v1/visits/", {**window, "state": "assigned"})) == [second.pk]
    assert ids(client.get("/api/v1/visits/", {**window, "unassigned": "true"})) == [first.pk]
    assert ids(client.get("/api/v1/visits/", {**window, "inspector": a.inspector.pk})) == [second.pk]
    assert ids(client.get("/api/v1/visits/", {"licence": a.insp_licence.pk, "planned_from": "2042-01-01"})) == [late.pk]
    everything = ids(client.get("/api/v1/visits/", {"page_size": 500}))
    assert {first.pk, second.pk, late.pk, a.insp_visit.pk} <= set(everything)
    assert b_visit.pk not in everything and api_world.b.insp_visit.pk not in everything
    assert client.get("/api/v1/visits/", {"state": "nonsense"}).status_code == 400
    assert client.get("/api/v1/visits/", {"planned_from": "2041-13-45"}).status_code == 400
    for empty in ("planned_until", "licence", "state", "unassigned"):  # typed filters: empty is not "any"
        response = client.get("/api/v1/visits/", {empty: ""})
        assert response.status_code == 400 and list(response.json()) == [empty], (empty, response.content)
    row = client.get("/api/v1/visits/", {**window, "state": "assigned"}).json()["results"][0]
    assert row["licence_number"] == a.insp_licence.number and row["inspector_email"] == a.inspector.email
    assert "findings" not in row


def test_retrieve_has_findings_and_an_etag_from_row_version(api_world):
    a = api_world.a
    response = key_client(a.key.token).get(url(a.insp_visit))
    assert response.status_code == 200
    body = response.json()
    assert [f["id"] for f in body["findings"]] == [a.insp_finding.pk]
    assert body["findings"][0]["checklist_item"] == a.insp_items[1].code
    visit = reload(a, a.insp_visit)
    assert response["ETag"] == f'"inspections.visit.{visit.pk}.v{visit.row_version}"'


def _list_queries(client, query):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/api/v1/visits/", query)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries), len(response.json()["results"])


@pytest.mark.parametrize("caller", ["body key", "inspector session"])
def test_list_queries_do_not_grow_with_page_size(api_world, client, caller):
    a = api_world.a
    for i in range(7):
        plan(a, DAY + dt.timedelta(days=i), inspector=a.inspector)
    if caller == "body key":
        client = key_client(a.key.token)
    else:
        client.force_login(a.inspector)
    # Warm-up: the key's last_used_at write, the content-type cache guardian fills on its first use.
    assert client.get("/api/v1/visits/", {"page_size": 1}).status_code == 200
    window = {"planned_from": "2041-01-01", "planned_until": "2041-12-31"}
    small, n_small = _list_queries(client, {**window, "page_size": 2})
    large, n_large = _list_queries(client, {**window, "page_size": 7})
    assert (n_small, n_large) == (2, 7)
    assert small == large


# --- create ----------------------------------------------------------------------------------------


def test_plan_a_visit_assigned_at_once(api_world):
    a = api_world.a
    client = key_client(a.key.token)
    response = client.post("/api/v1/visits/", {"licence": a.insp_licence.pk, "kind": "unannounced",
                                               "planned_for": "2041-05-02", "inspector": a.inspector2.pk,
                                               "reason": "complaint from a contractor"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["state"], body["announced"], body["inspector"], body["findings"]) == (
        "assigned", False, a.inspector2.pk, [])
    visit = reload(a, Visit(pk=body["id"]))
    assert response["ETag"] == f'"inspections.visit.{visit.pk}.v{visit.row_version}"'
    assert has_object_grant(a.inspector2, "inspections.change_visit", visit)
    assert events("visit.create", visit) == 1 and events("visit.assign", visit) == 1


def test_conflict_of_interest_and_qualification_are_field_errors_and_nothing_is_created(api_world):
    a = api_world.a
    client = key_client(a.key.token)
    expired, _ = new_inspector(a, "expired-qualification@alpha.test", valid_until=dt.date(2030, 12, 31))
    with tenant_scope(a.body):
        services.do_declare_conflict(profile=a.insp_profiles[1], holder=a.holder, reason="former employer",
                                     declared_on=dt.date(2025, 1, 1))
        before = Visit.objects.filter(licence=a.insp_licence).count()
    payload = {"licence": a.insp_licence.pk, "kind": "follow_up", "planned_for": "2041-05-02"}
    conflict = client.post("/api/v1/visits/", {**payload, "inspector": a.inspector2.pk}, format="json")
    assert conflict.status_code == 400
    assert "conflict of interest" in conflict.json()["inspector"][0]
    unqualified = client.post("/api/v1/visits/", {**payload, "inspector": expired.pk}, format="json")
    assert unqualified.status_code == 400
    assert "Not qualified on 2041-05-02" in unqualified.json()["inspector"][0]
    not_an_inspector = client.post("/api/v1/visits/", {**payload, "inspector": a.officer.pk}, format="json")
    assert not_an_inspector.status_code == 400 and list(not_an_inspector.json()) == ["inspector"]
    with tenant_scope(a.body):
        assert Visit.objects.filter(licence=a.insp_licence).count() == before  # the create was rolled back


def test_plan_input_errors_are_field_messages(api_world):
    client = key_client(api_world.a.key.token)
    response = client.post("/api/v1/visits/", {"kind": "weekly", "planned_for": "soon"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"licence", "kind", "planned_for"}


def test_idempotent_plan_creates_one_visit(api_world):
    a = api_world.a
    client = key_client(a.key.token)
    payload = {"licence": a.insp_licence.pk, "kind": "follow_up", "planned_for": "2041-06-01"}
    one = client.post("/api/v1/visits/", payload, format="json", HTTP_IDEMPOTENCY_KEY="plan-1")
    two = client.post("/api/v1/visits/", payload, format="json", HTTP_IDEMPOTENCY_KEY="plan-1")
    assert one.status_code == two.status_code == 201
    assert two["Idempotent-Replayed"] == "true" and one.json() == two.json() and one["ETag"] == two["ETag"]
    with tenant_scope(a.body):
        assert Visit.objects.filter(licence=a.insp_licence, planned_for=DAY.replace(month=6, day=1)).count() == 1
    other = client.post("/api/v1/visits/", {**payload, "planned_for": "2041-06-02"}, format="json",
                        HTTP_IDEMPOTENCY_KEY="plan-1")
    assert other.status_code == 422


# --- update: reschedule, assign, reassign -----------------------------------------------------------


def test_update_needs_if_match_and_a_stale_etag_is_412(api_world):
    a = api_world.a
    visit = plan(a)
    client = key_client(a.key.token)
    assert client.patch(url(visit), {"planned_for": "2041-04-01"}, format="json").status_code == 428
    etag = client.get(url(visit))["ETag"]
    moved = client.patch(url(visit), {"planned_for": "2041-04-01", "reason": "holder asked"}, format="json",
                         HTTP_IF_MATCH=etag)
    assert moved.status_code == 200, moved.content
    assert moved.json()["planned_for"] == "2041-04-01" and moved["ETag"] != etag
    assert moved.json()["row_version"] == reload(a, visit).row_version == visit.row_version + 1
    assert events("visit.reschedule", visit) == 1
    stale = client.patch(url(visit), {"planned_for": "2041-04-09"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    assert reload(a, visit).planned_for == dt.date(2041, 4, 1)  # the first change is not lost


def test_assign_then_reassign_moves_the_object_grant(api_world):
    a = api_world.a
    visit = plan(a)
    client = key_client(a.key.token)
    etag = client.get(url(visit))["ETag"]
    assigned = client.patch(url(visit), {"inspector": a.inspector.pk}, format="json", HTTP_IF_MATCH=etag)
    assert assigned.status_code == 200, assigned.content
    assert assigned.json()["state"] == "assigned"
    reassigned = client.patch(url(visit), {"inspector": a.inspector2.pk, "reason": "sick leave"}, format="json",
                              HTTP_IF_MATCH=assigned["ETag"])
    assert reassigned.status_code == 200, reassigned.content
    fresh = reload(a, visit)
    assert fresh.inspector == a.inspector2
    assert has_object_grant(a.inspector2, "inspections.change_visit", fresh)
    assert not has_object_grant(a.inspector, "inspections.change_visit", fresh)
    assert events("visit.assign", visit) == 2
    # The previous inspector no longer sees it, the new one does (same rule as the inspector pages).
    assert key_client(None).get(url(visit)).status_code in (401, 403)
    from django.test import Client

    old, new = Client(), Client()
    old.force_login(a.inspector)
    new.force_login(a.inspector2)
    assert old.get(url(visit)).status_code == 404
    assert new.get(url(visit)).status_code == 200


def test_reschedule_refused_when_the_assigned_inspector_is_not_qualified_that_day(api_world):
    a = api_world.a
    expiring, _ = new_inspector(a, "expiring@alpha.test", valid_until=dt.date(2041, 12, 31))
    visit = plan(a, inspector=expiring)
    client = key_client(a.key.token)
    etag = client.get(url(visit))["ETag"]
    response = client.patch(url(visit), {"planned_for": "2042-01-15"}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 400
    assert "cannot inspect on 2042-01-15" in response.json()["planned_for"][0]
    fresh = reload(a, visit)
    assert (fresh.planned_for, fresh.row_version) == (DAY, visit.row_version)
    # Reassigning and rescheduling in one request is all or nothing: a reassignment allowed on the current date
    # with a new date the new inspector cannot do is refused entirely (grants included).
    expiring2, _ = new_inspector(a, "expiring2@alpha.test", valid_until=dt.date(2041, 12, 31))
    refused = client.patch(url(visit), {"planned_for": "2042-01-15", "inspector": expiring2.pk}, format="json",
                           HTTP_IF_MATCH=etag)
    assert refused.status_code == 400 and "planned_for" in refused.json()
    fresh = reload(a, visit)
    assert (fresh.planned_for, fresh.inspector, fresh.row_version) == (DAY, expiring, visit.row_version)
    assert has_object_grant(expiring, "inspections.change_visit", fresh)
    assert not has_object_grant(expiring2, "inspections.change_visit", fresh)
    # With an inspector qualified on the new date, both changes go through.
    both = client.patch(url(visit), {"planned_for": "2042-01-15", "inspector": a.inspector.pk}, format="json",
                        HTTP_IF_MATCH=etag)
    assert both.status_code == 200, both.content
    fresh = reload(a, visit)
    assert (fresh.planned_for, fresh.inspector) == (dt.date(2042, 1, 15), a.inspector)


def test_unassigning_and_started_visits_are_refused(api_world):
    a = api_world.a
    client = key_client(a.key.token)
    visit = plan(a, inspector=a.inspector)
    etag = client.get(url(visit))["ETag"]
    assert "inspector" in client.patch(url(visit), {"inspector": None}, format="json", HTTP_IF_MATCH=etag).json()
    reviewed = a.insp_visit  # the world's visit is reviewed
    etag = client.get(url(reviewed))["ETag"]
    response = client.patch(url(reviewed), {"planned_for": "2041-01-01"}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 400 and "non_field_errors" in response.json()


# --- cancel ----------------------------------------------------------------------------------------


def test_cancel_needs_if_match_and_a_reason_and_revokes_the_grant(api_world):
    a = api_world.a
    visit = plan(a, inspector=a.inspector)
    client = key_client(a.key.token)
    assert client.post(url(visit, "cancel/"), {"reason": "licence renounced"}, format="json").status_code == 428
    etag = client.get(url(visit))["ETag"]
    no_reason = client.post(url(visit, "cancel/"), {}, format="json", HTTP_IF_MATCH=etag)
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    response = client.post(url(visit, "cancel/"), {"reason": "licence renounced"}, format="json",
                           HTTP_IF_MATCH=etag, HTTP_IDEMPOTENCY_KEY="cancel-1")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "cancelled" and response.json()["cancelled_at"]
    fresh = reload(a, visit)
    assert response["ETag"] == f'"inspections.visit.{visit.pk}.v{fresh.row_version}"'
    assert not has_object_grant(a.inspector, "inspections.change_visit", fresh)
    replay = client.post(url(visit, "cancel/"), {"reason": "licence renounced"}, format="json",
                         HTTP_IF_MATCH=etag, HTTP_IDEMPOTENCY_KEY="cancel-1")
    assert replay.status_code == 200 and replay["Idempotent-Replayed"] == "true"
    assert events("visit.cancel", visit) == 1
    again = client.post(url(visit, "cancel/"), {"reason": "twice"}, format="json", HTTP_IF_MATCH=response["ETag"])
    assert again.status_code == 400 and "non_field_errors" in again.json()
    stale = client.post(url(visit, "cancel/"), {"reason": "stale"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412


# --- who may do what -------------------------------------------------------------------------------


def test_capabilities_per_role_and_key_kind(api_world):
    a = api_world.a
    visit = plan(a)
    payload = {"licence": a.insp_licence.pk, "kind": "follow_up", "planned_for": "2041-07-01"}
    auditor = key_client(a.read_key.token)  # auditor role, read scope
    assert auditor.get(url(visit)).status_code == 200
    assert auditor.post("/api/v1/visits/", payload, format="json").status_code == 403
    auditor_rw = key_client(issue_key(a.body, role=Role.AUDITOR).token)
    assert auditor_rw.post("/api/v1/visits/", payload, format="json").status_code == 403  # no planning.manage
    planner = key_client(issue_key(a.body, role=Role.PLANNER).token)
    assert planner.post("/api/v1/visits/", payload, format="json").status_code == 201
    holder_key = key_client(issue_key(a.body, kind="holder", holder=a.holder).token)
    lab_key = key_client(issue_key(a.body, kind="lab", laboratory=a.lab).token)
    for client in (holder_key, lab_key):
        assert client.get("/api/v1/visits/").status_code == 403
        assert client.get(url(visit)).status_code == 403
        assert client.post("/api/v1/visits/", payload, format="json").status_code == 403
    assert key_client(None).get("/api/v1/visits/").status_code == 401


def test_inspector_role_callers_see_only_their_visits(api_world, client):
    a = api_world.a
    mine = plan(a, inspector=a.inspector)
    theirs = plan(a, inspector=a.inspector2)
    unassigned = plan(a)
    window = {"planned_from": "2041-01-01", "planned_until": "2041-12-31"}
    client.force_login(a.inspector)
    assert ids(client.get("/api/v1/visits/", window)) == [mine.pk]
    assert client.get(url(theirs)).status_code == 404 and client.get(url(unassigned)).status_code == 404
    assert client.get(url(mine)).status_code == 200
    assert client.post("/api/v1/visits/", {}, content_type="application/json").status_code == 403
    # An inspector-role key acts for the staff member who issued it; issued by anyone else it sees nothing.
    with tenant_scope(a.body):
        own_key = api_services.do_create_api_key(body=a.body, name="tablet", kind="body", role=Role.INSPECTOR,
                                                 scopes=["read"], created_by=a.inspector2)
        admin_issued = api_services.do_create_api_key(body=a.body, name="tablet 2", kind="body",
                                                      role=Role.INSPECTOR, scopes=["read"], created_by=a.admin)
    assert ids(key_client(own_key.token).get("/api/v1/visits/", window)) == [theirs.pk]
    assert key_client(own_key.token).get(url(mine)).status_code == 404
    assert ids(key_client(admin_issued.token).get("/api/v1/visits/", window)) == []


def test_two_peers_of_two_bodies(api_world):
    """Peer B (body B's admin key) gets 404 on every operation on A's visit, and cannot plan on A's licence
    nor assign A's visit to B's inspector (same answer as for ids that do not exist); nothing changes."""
    a, b = api_world.a, api_world.b
    visit = plan(a, inspector=a.inspector)
    peer_a, peer_b = key_client(a.key.token), key_client(b.key.token)
    assert peer_a.get(url(visit)).status_code == 200
    assert peer_b.get(url(visit)).status_code == 404
    assert peer_b.patch(url(visit), {"planned_for": "2041-09-09"}, format="json", HTTP_IF_MATCH="*").status_code == 404
    assert peer_b.post(url(visit, "cancel/"), {"reason": "x"}, format="json", HTTP_IF_MATCH="*").status_code == 404
    # Whatever else is wrong with the request (no If-Match, no reason), "not yours" is answered first.
    assert peer_b.post(url(visit, "cancel/"), {}, format="json").status_code == 404
    assert peer_b.patch(url(visit), {"planned_for": "not a date"}, format="json", HTTP_IF_MATCH="*").status_code == 404
    foreign = peer_b.post("/api/v1/visits/", {"licence": a.insp_licence.pk, "kind": "follow_up",
                                              "planned_for": "2041-07-01"}, format="json")
    missing = peer_b.post("/api/v1/visits/", {"licence": 10**9, "kind": "follow_up",
                                              "planned_for": "2041-07-01"}, format="json")
    assert foreign.status_code == missing.status_code == 400
    assert foreign.json()["licence"][0].replace(str(a.insp_licence.pk), "N") == \
        missing.json()["licence"][0].replace(str(10**9), "N")
    etag = peer_a.get(url(visit))["ETag"]
    cross = peer_a.patch(url(visit), {"inspector": b.inspector.pk}, format="json", HTTP_IF_MATCH=etag)
    assert cross.status_code == 400 and list(cross.json()) == ["inspector"]
    fresh = reload(a, visit)
    assert (fresh.state, fresh.inspector_id, fresh.planned_for, fresh.row_version) == (
        "assigned", a.inspector.pk, DAY, visit.row_version)
