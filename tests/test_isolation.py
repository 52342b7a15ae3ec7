"""Tenant isolation over every route: the harness, and proof that it catches an unscoped view."""

import pytest
from django.http import HttpResponse
from django.urls import include, path

from certification.access import staff_required
from licences.models import LicenceHolder
from tests import isolation

pytestmark = pytest.mark.django_db


def test_no_route_leaks_to_outsiders(world):
    problems = isolation.walk(world)
    assert problems == [], "\n".join(problems)


def test_every_route_is_walked_or_listed_with_a_reason():
    names = {route.name for route in isolation.iter_routes()}
    assert {"staff:holder-detail", "api:holder-detail", "portal:home", "public:home"} <= names
    for name, reason in isolation.UNWALKABLE.items():
        assert reason.strip(), f"{name} is unwalkable without a reason"
    stale = set(isolation.ROUTES) - names
    assert not stale, f"registered routes that no longer exist: {stale}"


@staff_required()
def leaky_holder_view(request, pk):
    # Deliberately unscoped: the base manager ignores the tenant scope.
    holder = LicenceHolder._base_manager.get(pk=pk)
    return HttpResponse(f"{holder.name} {holder.internal_notes}")


urlpatterns = [
    path("", include("certification.urls")),
    path("leak/<int:pk>/", leaky_holder_view, name="leak"),
]


@pytest.mark.urls(__name__)
def test_harness_fails_on_an_unscoped_view(world):
    routes = {**isolation.ROUTES, "leak": isolation.Walk(lambda w: {"pk": w.a.holder.pk}, owner_sees_marker=True)}
    problems = isolation.walk(world, urlconf=__name__, routes=routes, only={"leak", "staff:holder-detail"})
    leak_problems = [p for p in problems if "/leak/" in p]
    assert any("other body's staff" in p and "private data" in p for p in leak_problems), problems
    assert any("expected 403/404" in p for p in leak_problems), problems
    assert all("/leak/" in p for p in problems), problems


def test_harness_fails_on_an_unregistered_object_route(world):
    routes = {k: v for k, v in isolation.ROUTES.items() if k != "staff:holder-detail"}
    problems = isolation.walk(world, routes=routes, only={"staff:holder-detail", "staff:holder-list"})
    assert any(p.startswith("staff:holder-detail: needs ['pk']") for p in problems), problems
