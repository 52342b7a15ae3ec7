"""Holder writes through the API: Idempotency-Key replay, If-Match concurrency, field errors."""

import pytest

from certification.models import AuditEvent, IdempotencyRecord
from certification.tenancy import scopes_disabled, tenant_scope
from licences.models import LicenceHolder
from tests.api_support import issue_key, key_client, make_api_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_world(world):
    return make_api_world(world)

NEW_HOLDER = {"name": "Gamma Asphalt", "company_number": "BE 0418.316.359", "email": "info@gamma.test"}


def holder_count(body):
    with tenant_scope(body):
        return LicenceHolder.objects.count()


def test_create_holder_returns_etag_and_normalises(api_world):
    response = key_client(api_world.a.key.token).post("/api/v1/holders/", NEW_HOLDER, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["company_number"] == "BE0418316359"
    assert response["ETag"].startswith('"')
    with scopes_disabled("test"):
        holder = LicenceHolder.objects.get(pk=response.json()["id"])
        assert holder.body == api_world.a.body
        assert AuditEvent.objects.filter(action="holder.register", object_id=str(holder.pk)).exists()


def test_same_idempotency_key_and_body_replays_the_stored_response(api_world):
    client = key_client(api_world.a.key.token)
    before = holder_count(api_world.a.body)
    first = client.post("/api/v1/holders/", NEW_HOLDER, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = client.post("/api/v1/holders/", NEW_HOLDER, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert second["ETag"] == first["ETag"]
    assert holder_count(api_world.a.body) == before + 1


def test_same_idempotency_key_with_another_body_is_422(api_world):
    client = key_client(api_world.a.key.token)
    assert client.post("/api/v1/holders/", NEW_HOLDER, format="json", HTTP_IDEMPOTENCY_KEY="k-2").status_code == 201
    other = {**NEW_HOLDER, "name": "Another"}
    response = client.post("/api/v1/holders/", other, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"


def test_idempotency_keys_are_per_owner(api_world):
    other_key = issue_key(api_world.a.body, name="second system")
    a1, a2 = key_client(api_world.a.key.token), key_client(other_key.token)
    assert a1.post("/api/v1/holders/", NEW_HOLDER, format="json", HTTP_IDEMPOTENCY_KEY="same").status_code == 201
    # The second owner's key "same" is its own: a real write (here refused as a duplicate company number).
    response = a2.post("/api/v1/holders/", NEW_HOLDER, format="json", HTTP_IDEMPOTENCY_KEY="same")
    assert response.status_code == 400
    assert "already exists" in response.json()["non_field_errors"][0]
    with scopes_disabled("test"):
        assert IdempotencyRecord.objects.filter(key="same").count() == 1


def test_failed_writes_are_not_stored_and_can_be_retried(api_world):
    client = key_client(api_world.a.key.token)
    bad = client.post("/api/v1/holders/", {"name": ""}, format="json", HTTP_IDEMPOTENCY_KEY="retry-me")
    assert bad.status_code == 400
    assert set(bad.json()) == {"name", "company_number"}
    good = client.post("/api/v1/holders/", NEW_HOLDER, format="json", HTTP_IDEMPOTENCY_KEY="retry-me")
    assert good.status_code == 201


def test_idempotency_key_too_long_is_a_field_error(api_world):
    response = key_client(api_world.a.key.token).post("/api/v1/holders/", NEW_HOLDER, format="json",
                                                      HTTP_IDEMPOTENCY_KEY="x" * 256)
    assert response.status_code == 400 and "Idempotency-Key" in response.json()


def test_invalid_company_number_is_a_field_error(api_world):
    response = key_client(api_world.a.key.token).post(
        "/api/v1/holders/", {"name": "X", "company_number": "BE0000000000"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["company_number"]


def test_update_needs_if_match(api_world):
    client = key_client(api_world.a.key.token)
    url = f"/api/v1/holders/{api_world.a.holder.pk}/"
    response = client.patch(url, {"phone": "+32 1"}, format="json")
    assert response.status_code == 428 and response.json()["code"] == "precondition_required"


def test_update_with_current_etag_succeeds_and_stale_etag_is_412(api_world):
    client = key_client(api_world.a.key.token)
    url = f"/api/v1/holders/{api_world.a.holder.pk}/"
    etag = client.get(url)["ETag"]
    first = client.patch(url, {"phone": "+32 2 000 00 00"}, format="json", HTTP_IF_MATCH=etag)
    assert first.status_code == 200, first.content
    assert first.json()["phone"] == "+32 2 000 00 00"
    assert first["ETag"] != etag
    # A second writer still holding the old ETag is refused: the first change is not silently lost.
    stale = client.patch(url, {"phone": "+32 9"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    with tenant_scope(api_world.a.body):
        assert LicenceHolder.objects.get(pk=api_world.a.holder.pk).phone == "+32 2 000 00 00"
    # With the new ETag (weak form accepted too) the update goes through; PUT works as well.
    put = client.put(url, {"name": "Renamed", "company_number": "BE0403170701"}, format="json",
                     HTTP_IF_MATCH=f"W/{first['ETag']}")
    assert put.status_code == 200 and put.json()["name"] == "Renamed"


def test_idempotent_update_replays_without_rechecking(api_world):
    client = key_client(api_world.a.key.token)
    url = f"/api/v1/holders/{api_world.a.holder.pk}/"
    etag = client.get(url)["ETag"]
    one = client.patch(url, {"phone": "+32 3"}, format="json", HTTP_IF_MATCH=etag, HTTP_IDEMPOTENCY_KEY="u1")
    two = client.patch(url, {"phone": "+32 3"}, format="json", HTTP_IF_MATCH=etag, HTTP_IDEMPOTENCY_KEY="u1")
    assert one.status_code == two.status_code == 200
    assert two["Idempotent-Replayed"] == "true"


def test_other_body_cannot_update_or_read(api_world):
    client = key_client(api_world.b.key.token)
    url = f"/api/v1/holders/{api_world.a.holder.pk}/"
    assert client.get(url).status_code == 404
    assert client.patch(url, {"phone": "x"}, format="json", HTTP_IF_MATCH="*").status_code == 404
    with tenant_scope(api_world.a.body):
        assert LicenceHolder.objects.get(pk=api_world.a.holder.pk).phone != "x"


def test_session_staff_can_use_the_api_with_csrf(world, client):
    client.force_login(world.a.officer)
    assert client.get("/api/v1/holders/").status_code == 200
    assert client.get(f"/api/v1/holders/{world.a.holder.pk}/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_idempotency_key_write_once(world):
    """Two simultaneous POSTs with one key and body: one holder, and both callers get the same 201.
    (Sequential interleavings take the replay path; overlapping ones the unique-index path.)"""
    import threading

    from django.db import connections

    issued = issue_key(world.a.body)
    barrier, results = threading.Barrier(2), []

    def send():
        try:
            client = key_client(issued.token)
            barrier.wait()
            response = client.post("/api/v1/holders/", NEW_HOLDER, format="json", HTTP_IDEMPOTENCY_KEY="race")
            results.append((response.status_code, response.json()["id"]))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2 and results[0] == results[1] and results[0][0] == 201, results
    with tenant_scope(world.a.body):
        assert LicenceHolder.objects.filter(company_number="BE0418316359").count() == 1
