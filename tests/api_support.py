"""Helpers for the API tests: issue keys and get clients that send them."""

from rest_framework.test import APIClient

from certification.api import services
from certification.models import Role
from certification.tenancy import tenant_scope


def issue_key(body, *, kind="body", role=Role.ADMIN, scopes=("read", "write"), holder=None, laboratory=None,
              name="Partner system", expires_at=None):
    with tenant_scope(body):
        return services.do_create_api_key(body=body, name=name, kind=kind, role=role if kind == "body" else "",
                                          holder=holder, laboratory=laboratory, scopes=scopes,
                                          expires_at=expires_at)


def key_client(token):
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {token}")
    return client


def make_api_world(world):
    """The shared two-body world plus: an admin key per body (read+write), a read-only key of A."""
    world.a.key = issue_key(world.a.body, name="A admin system")
    world.b.key = issue_key(world.b.body, name="B admin system")
    world.a.read_key = issue_key(world.a.body, scopes=("read",), role=Role.AUDITOR, name="A read-only")
    return world
