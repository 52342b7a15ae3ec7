"""API plumbing of the foundation: JSON errors, authentication by default, tenant scope, stable pages."""

import pytest

pytestmark = pytest.mark.django_db


def test_unknown_api_path_answers_json_404(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["detail"] == "Not found."


def test_api_needs_authentication_by_default(client, world):
    response = client.get("/api/v1/holders/")
    assert response.status_code == 401  # with a WWW-Authenticate challenge for API keys
    assert response["WWW-Authenticate"].startswith("Api-Key")
    assert response["Content-Type"].startswith("application/json")


def test_reference_data_is_public(client):
    from django.core.management import call_command

    call_command("loaddata", "fixtures/reference.json", verbosity=0)
    response = client.get("/api/v1/marks/")
    assert response.status_code == 200
    codes = [m["code"] for m in response.json()["results"]]
    assert {"atg", "benor", "copro"} <= set(codes)
    assert codes == sorted(codes)


def test_holders_are_scoped_and_paginated_in_a_stable_order(world, login):
    client = login(world.b.admin)
    data = client.get("/api/v1/holders/?page_size=1").json()
    assert data["count"] == 2
    first = data["results"][0]["name"]
    second = client.get(data["next"]).json()["results"][0]["name"]
    assert {first, second} == {"Beta Body Holder One", "Beta Body Holder Two"}
    assert client.get(f"/api/v1/holders/{world.a.holder.pk}/").status_code == 404


def test_portal_users_cannot_use_staff_endpoints(world, login):
    assert login(world.a.holder_user).get("/api/v1/holders/").status_code == 403


def test_me_says_who_and_where(world, login):
    assert login(world.a.holder_user).get("/api/v1/me/").json() == {
        "email": world.a.holder_user.email, "full_name": "", "kind": "portal", "role": "manager", "body": "alpha",
        "api_key": None}


def test_swagger_ui_is_served_without_cdn(world, login):
    page = login(world.a.admin).get("/api/v1/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn" not in page.lower()
