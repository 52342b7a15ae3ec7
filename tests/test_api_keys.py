"""API keys: hashed storage, authentication, scopes, expiry, revocation, tenant scope, staff page, command."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from certification.api import services
from certification.models import ApiKey, AuditEvent, Role
from certification.models_api import hash_secret
from certification.tenancy import scopes_disabled, tenant_scope
from tests.api_support import issue_key, key_client, make_api_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_world(world):
    return make_api_world(world)


def test_key_is_stored_hashed_with_a_lookup_prefix(api_world):
    issued = api_world.a.key
    prefix, secret = issued.token.split(".", 1)
    assert len(secret) >= 40
    with connection.cursor() as cursor:
        cursor.execute("SELECT prefix, secret_hash FROM certification_apikey WHERE id = %s", [issued.api_key.pk])
        stored_prefix, stored_hash = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM certification_apikey WHERE secret_hash LIKE %s OR name LIKE %s",
                       [f"%{secret}%", f"%{secret}%"])
        assert cursor.fetchone()[0] == 0
    assert stored_prefix == prefix and stored_hash == hash_secret(secret) != secret
    with scopes_disabled("test"):
        snapshot = AuditEvent.objects.get(action="api_key.create", object_id=str(issued.api_key.pk)).after
    assert "secret_hash" not in snapshot and secret not in str(snapshot)


def test_valid_key_authenticates_and_activates_its_body_scope(api_world):
    response = key_client(api_world.a.key.token).get("/api/v1/me/")
    assert response.status_code == 200, response.content
    assert response.json() == {"email": f"api-key:{api_world.a.key.api_key.prefix}", "full_name": "A admin system",
                               "kind": "staff", "role": "admin", "body": "alpha",
                               "api_key": api_world.a.key.api_key.prefix}
    names = [h["name"] for h in key_client(api_world.a.key.token).get("/api/v1/holders/").json()["results"]]
    assert names == ["Alpha Body Holder One", "Alpha Body Holder Two"]
    names = [h["name"] for h in key_client(api_world.b.key.token).get("/api/v1/holders/").json()["results"]]
    assert names == ["Beta Body Holder One", "Beta Body Holder Two"]


@pytest.mark.parametrize("header", [
    "Api-Key nope", "Api-Key a.b", "Api-Key", "Api-Key a.b c", "Api-Key \xff.\xfe",
])
def test_bad_keys_get_json_401(api_world, header):
    client = key_client(None)
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/holders/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response["WWW-Authenticate"] == "Api-Key"
    assert response.json()["code"] == "authentication_failed"


def test_wrong_secret_with_a_real_prefix_is_refused(api_world):
    prefix = api_world.a.key.api_key.prefix
    response = key_client(f"{prefix}.{'x' * 43}").get("/api/v1/me/")
    assert response.status_code == 401


def test_revoked_and_expired_keys_are_refused(api_world):
    token = api_world.a.key.token
    assert key_client(token).get("/api/v1/me/").status_code == 200
    with tenant_scope(api_world.a.body):
        services.do_revoke_api_key(api_key=api_world.a.key.api_key, reason="leaked")
    assert key_client(token).get("/api/v1/me/").status_code == 401

    expiring = issue_key(api_world.a.body, expires_at=timezone.now() + timedelta(hours=1))
    assert key_client(expiring.token).get("/api/v1/me/").status_code == 200
    with scopes_disabled("test"):
        ApiKey.objects.filter(pk=expiring.api_key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert key_client(expiring.token).get("/api/v1/me/").status_code == 401


def test_read_scope_cannot_write(api_world):
    client = key_client(api_world.a.read_key.token)
    assert client.get("/api/v1/holders/").status_code == 200
    response = client.post("/api/v1/holders/", {"name": "X", "company_number": "BE0403170701"}, format="json")
    assert response.status_code == 403
    assert "read scope" in response.json()["detail"]


def test_role_capabilities_apply_to_body_keys(api_world):
    inspector_key = issue_key(api_world.a.body, role=Role.INSPECTOR)
    assert key_client(inspector_key.token).get("/api/v1/holders/").status_code == 403
    auditor = key_client(api_world.a.read_key.token)
    assert auditor.get("/api/v1/holders/").status_code == 200


def test_holder_and_lab_keys_get_their_scope_only(api_world):
    holder_key = issue_key(api_world.a.body, kind="holder", holder=api_world.a.holder, scopes=("read",))
    lab_key = issue_key(api_world.a.body, kind="lab", laboratory=api_world.a.lab, scopes=("read",))
    me = key_client(holder_key.token).get("/api/v1/me/").json()
    assert (me["kind"], me["body"]) == ("portal", "alpha")
    assert key_client(lab_key.token).get("/api/v1/me/").json()["kind"] == "lab"
    # Not staff: the staff holder registry is refused.
    assert key_client(holder_key.token).get("/api/v1/holders/").status_code == 403
    # A holder key lists only itself among keys.
    keys = key_client(holder_key.token).get("/api/v1/keys/").json()["results"]
    assert [k["prefix"] for k in keys] == [holder_key.api_key.prefix]


def test_key_of_an_inactive_body_is_refused(api_world):
    with scopes_disabled("test"):
        type(api_world.a.body).objects.filter(pk=api_world.a.body.pk).update(is_active=False)
    assert key_client(api_world.a.key.token).get("/api/v1/me/").status_code == 401


def test_create_rejects_inconsistent_keys(world):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        issue_key(world.a.body, kind="holder", holder=None)
    with pytest.raises(ValidationError):
        issue_key(world.a.body, scopes=("admin",))
    with pytest.raises(ValidationError):
        issue_key(world.a.body, role="nobody")
    with pytest.raises(ValidationError):
        issue_key(world.a.body, expires_at=timezone.now() - timedelta(days=1))


def test_staff_page_issues_a_key_once_and_revokes_it(world, login):
    client = login(world.a.admin)
    response = client.post("/staff/api-keys/", {"name": "Road authority", "kind": "body", "role": "auditor",
                                                "scopes": ["read"]})
    assert response.status_code == 200
    token = response.context["issued"].token
    assert token in response.content.decode()
    listing = client.get("/staff/api-keys/").content.decode()
    assert "Road authority" in listing and token not in listing and token.split(".")[1] not in listing
    assert key_client(token).get("/api/v1/me/").json()["role"] == "auditor"
    with scopes_disabled("test"):
        key = ApiKey.objects.get(prefix=token.split(".")[0])
    assert key.created_by == world.a.admin
    response = client.post(f"/staff/api-keys/{key.pk}/revoke/", {"reason": "rotation"})
    assert response.status_code == 302
    assert key_client(token).get("/api/v1/me/").status_code == 401
    # Form errors come back on the page, not as a 500.
    response = client.post("/staff/api-keys/", {"name": "Bad", "kind": "holder", "scopes": ["read"]})
    assert response.status_code == 200 and response.context["form"].errors


def test_staff_page_needs_body_manage(world, login):
    assert login(world.a.officer).get("/staff/api-keys/").status_code == 403
    with tenant_scope(world.a.body):
        key = issue_key(world.a.body).api_key
    assert login(world.b.admin).post(f"/staff/api-keys/{key.pk}/revoke/").status_code == 404
    with scopes_disabled("test"):
        assert ApiKey.objects.get(pk=key.pk).revoked_at is None


def test_management_command_issues_lists_and_revokes(world):
    out = StringIO()
    call_command("api_keys", "create", "--body", "alpha", "--name", "ERP", "--role", "officer",
                 "--scope", "read", "--scope", "write", "--expires", "2099-12-31", stdout=out)
    token = out.getvalue().strip().splitlines()[-1]
    assert key_client(token).get("/api/v1/me/").json()["role"] == "officer"
    out = StringIO()
    call_command("api_keys", "list", "--body", "alpha", stdout=out)
    assert token.split(".")[0] in out.getvalue() and token.split(".")[1] not in out.getvalue()
    call_command("api_keys", "revoke", "--body", "alpha", "--prefix", token.split(".")[0], stdout=StringIO())
    assert key_client(token).get("/api/v1/me/").status_code == 401


THROTTLED = {"DEFAULT_THROTTLE_RATES": {"api_key": "3/min", "user": "3/min", "anon": "2/min"}}


def _rf_with(overrides):
    from django.conf import settings

    return {**settings.REST_FRAMEWORK, **overrides}


def test_throttle_is_per_key(api_world):
    from django.core.cache import cache

    with override_settings(REST_FRAMEWORK=_rf_with(THROTTLED)):
        cache.delete_many([f"throttle_api_key_key{k.api_key.pk}" for k in (api_world.a.key, api_world.b.key)])
        a, b = key_client(api_world.a.key.token), key_client(api_world.b.key.token)
        assert [a.get("/api/v1/me/").status_code for _ in range(4)] == [200, 200, 200, 429]
        response = a.get("/api/v1/me/")
        assert response.status_code == 429 and response.json()["code"] == "throttled"
        assert "Retry-After" in response
        assert b.get("/api/v1/me/").status_code == 200  # another key has its own budget


def test_anonymous_throttle_ignores_forged_forwarded_for(db):
    from django.core.cache import cache
    from rest_framework.test import APIClient

    with override_settings(REST_FRAMEWORK=_rf_with(THROTTLED)):
        cache.delete("throttle_anon_ip127.0.0.1")
        client = APIClient(REMOTE_ADDR="127.0.0.1")
        statuses = [client.get("/api/v1/marks/", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}").status_code for i in range(3)]
        assert statuses == [200, 200, 429]
        cache.delete("throttle_anon_ip127.0.0.1")
