"""Every bad input answers JSON 4xx (never HTML, never 500); pagination is total; lists use constant queries."""

import json

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIRequestFactory

from certification.api.pagination import StablePageNumberPagination
from certification.tenancy import tenant_scope
from licences.models import LicenceHolder
from licences.services import do_register_holder
from tests.api_support import key_client, make_api_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_world(world):
    return make_api_world(world)

def _belgian_number(i):
    first8 = 4_500_000 + i
    return f"BE0{first8:07d}{97 - first8 % 97:02d}"


VALID_NUMBERS = [_belgian_number(i) for i in range(20)]


def assert_json_error(response, status):
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert isinstance(body, dict) and body
    return body


@pytest.fixture
def post(api_world):
    client = key_client(api_world.a.key.token)

    def _post(data, content_type="application/json", **extra):
        return client.generic("POST", "/api/v1/holders/", data, content_type=content_type, **extra)

    return _post


def test_malformed_json(post):
    assert assert_json_error(post('{"name": '), 400)["code"] == "parse_error"


def test_invalid_utf8_and_json_constants(post):
    assert_json_error(post(b'{"name": "\xff\xfe"}'), 400)
    assert_json_error(post('{"name": NaN, "company_number": "BE0418316359"}'), 400)


def test_deeply_nested_json_hits_the_depth_limit(post):
    body = assert_json_error(post('{"name": ' + "[" * 40 + "]" * 40 + "}"), 400)
    assert "nested" in body["detail"]


def test_pathologically_nested_json_is_400_not_recursion_error(post):
    assert_json_error(post("[" * 200_000 + "]" * 200_000), 400)


def test_not_an_object(post):
    body = assert_json_error(post("[1, 2]"), 400)
    assert "non_field_errors" in body


def test_wrong_content_type(post):
    body = assert_json_error(post("name=x", content_type="text/plain"), 415)
    assert body["code"] == "unsupported_media_type"


def test_field_messages_for_wrong_types(post):
    body = assert_json_error(post(json.dumps({"name": {"a": 1}, "company_number": 12, "email": "nope"})), 400)
    assert set(body) == {"name", "company_number", "email"}
    assert all(isinstance(messages, list) and messages for messages in body.values())


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_oversized_json_body(post):
    body = assert_json_error(post(json.dumps({"name": "x" * 5000, "company_number": "BE0418316359"})), 413)
    assert body["code"] == "request_too_large"


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_oversized_form_body_from_djangos_request_data_too_big(post):
    # Form bodies go through Django's own parsing, which raises RequestDataTooBig.
    body = assert_json_error(post("name=" + "x" * 5000, content_type="application/x-www-form-urlencoded"), 413)
    assert body["code"] == "request_too_large"


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_oversized_body_outside_drf_is_json_too(api_world):
    client = key_client(api_world.a.key.token)
    response = client.generic("POST", "/api/v1/no-such-route/", "x" * 5000, content_type="application/json")
    assert_json_error(response, 404)


def test_unknown_route_and_wrong_method_are_json(api_world):
    client = key_client(api_world.a.key.token)
    assert_json_error(client.get("/api/v1/nothing-here/"), 404)
    assert_json_error(client.delete(f"/api/v1/holders/{api_world.a.holder.pk}/"), 405)
    assert_json_error(client.get("/api/v1/holders/?page=999"), 404)
    assert_json_error(client.get("/api/v1/holders/abc/"), 404)


def test_nul_characters_in_the_query_string_are_a_bad_request(api_world, client):
    # Found by schemathesis: PostgreSQL text cannot hold NUL, so ?reference=…%00… used to end in a 500.
    api = key_client(api_world.a.key.token)
    assert_json_error(api.get("/api/v1/verify/?reference=95%0050001"), 400)
    assert_json_error(api.get("/api/v1/holders/?name__icontains=a%00b"), 400)
    assert_json_error(api.get("/api/v1/holders/?na%00me=x"), 400)
    assert client.get("/public/products/?q=kerb%00stone").status_code == 400  # pages too (HTML)
    assert api.get("/api/v1/verify/?reference=95550001").status_code in (200, 404)


def test_unauthenticated_is_json(db):
    from rest_framework.test import APIClient

    assert_json_error(APIClient().get("/api/v1/holders/"), 401)


def _make_holders(body, count, name="Same Name"):
    with tenant_scope(body):
        return [do_register_holder(body=body, name=name, company_number=number).pk
                for number in VALID_NUMBERS[:count]]


def test_pagination_is_total_even_with_equal_sort_keys(api_world):
    with tenant_scope(api_world.a.body):
        LicenceHolder.objects.all().update(name="Same Name")
    created = _make_holders(api_world.a.body, 8, name="Same Name")
    client = key_client(api_world.a.key.token)
    seen, url = [], "/api/v1/holders/?page_size=3"
    while url:
        page = client.get(url).json()
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) == page["count"] == 10
    assert set(created) <= set(seen)
    assert seen == sorted(seen)  # equal names: pk decides


def test_paginator_adds_pk_to_an_unordered_queryset(api_world):
    request = APIRequestFactory().get("/api/v1/holders/")
    from rest_framework.request import Request

    paginator = StablePageNumberPagination()
    with tenant_scope(api_world.a.body):
        qs = LicenceHolder.objects.order_by()
        assert not qs.ordered
        paginator.paginate_queryset(qs, Request(request))
        assert paginator.page.paginator.object_list.query.order_by[-1] == "pk"
        paginator.paginate_queryset(LicenceHolder.objects.order_by("-name"), Request(request))
        assert list(paginator.page.paginator.object_list.query.order_by) == ["-name", "pk"]


def _list_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries), len(response.json()["results"])


def test_holder_list_queries_do_not_grow_with_page_size(api_world):
    _make_holders(api_world.a.body, 10, name="Q")
    client = key_client(api_world.a.key.token)
    client.get("/api/v1/me/")  # warm-up (last_used_at write)
    small, n_small = _list_queries(client, "/api/v1/holders/?page_size=2")
    large, n_large = _list_queries(client, "/api/v1/holders/?page_size=12")
    assert (n_small, n_large) == (2, 12)
    assert small == large


def test_webhook_list_queries_do_not_grow_with_page_size(api_world, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    client = key_client(api_world.a.key.token)
    client.get("/api/v1/me/")
    for i in range(6):
        response = client.post("/api/v1/webhooks/", {"url": f"http://127.0.0.1:9/h{i}",
                                                     "certificates": [f"C-{i}", f"D-{i}"]}, format="json")
        assert response.status_code == 201, response.content
    small, n_small = _list_queries(client, "/api/v1/webhooks/?page_size=2")
    large, n_large = _list_queries(client, "/api/v1/webhooks/?page_size=6")
    assert (n_small, n_large) == (2, 6)
    assert small == large


@pytest.mark.parametrize("path, typed, text", [
    ("/api/v1/certificates/", "render_status", "number"),
    ("/api/v1/regulation-versions/", "status", None),
    ("/api/v1/visits/", "planned_from", None),
])
def test_empty_typed_filters_are_400_and_empty_text_filters_are_allowed(api_world, path, typed, text):
    """django-filter ignores empty values; the schema (an enum, a date) does not allow them: 400, not every row."""
    client = key_client(api_world.a.key.token)
    response = client.get(path, {typed: ""})
    assert response.status_code == 400 and list(response.json()) == [typed], response.content
    if text:
        assert client.get(path, {text: ""}).status_code == 200  # a string may be empty
