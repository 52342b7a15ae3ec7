"""Walks every URL pattern and API route, from the resolver, as every kind of outsider.

A route whose URL needs an object id must be registered in ``ROUTES`` (how to point it at body A's
objects, and who owns it), or listed in ``UNWALKABLE`` with a reason; otherwise the walk reports it.
So a new route is covered as soon as it exists, and the suite fails until it is registered.
"""

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from certification.models import AuditEvent
from certification.tenancy import scopes_disabled

DENIED = {401, 403, 404, 405}


@dataclass
class Walk:
    kwargs: Callable  # world -> dict of URL kwargs pointing at body A's objects
    owner: str | None = "staff"  # which of World.owners() may see it; None: public or global data
    owner_sees_marker: bool = False  # the owner's page shows A's secret marker (proves the check bites)
    object_route: bool = True  # outsiders must be refused outright (not just shown nothing)


# Each app registers its object routes in tests/isolation_routes/<app>.py (ROUTES, UNWALKABLE).
ROUTE_MODULES = ["certification", "marks", "licences", "inspections", "sampling"]
ROUTES: dict[str, Walk] = {}
UNWALKABLE: dict[str, str] = {}
for _name in ROUTE_MODULES:
    _module = import_module(f"tests.isolation_routes.{_name}")
    ROUTES.update(_module.ROUTES)
    UNWALKABLE.update(getattr(_module, "UNWALKABLE", {}))


@dataclass(frozen=True)
class Route:
    name: str
    kwarg_names: frozenset


def iter_routes(urlconf=None):
    """Every named route with the URL kwargs it needs, straight from the resolver."""
    found = {}

    def visit(patterns, namespace, inherited):
        for entry in patterns:
            own = set(entry.pattern.converters) | set(entry.pattern.regex.groupindex)
            if isinstance(entry, URLResolver):
                ns = namespace + [entry.namespace] if entry.namespace else namespace
                visit(entry.url_patterns, ns, inherited | own)
            elif isinstance(entry, URLPattern):
                key = ":".join(namespace + [entry.name]) if entry.name else f"<unnamed {entry.pattern}>"
                route = Route(key, frozenset(inherited | own))
                found[(route.name, route.kwarg_names)] = route

    visit(get_resolver(urlconf).url_patterns, [], set())
    return list(found.values())


class Clients:
    """One logged-in client per actor, logged in again only when a request logged it out."""

    def __init__(self):
        self._clients = {}

    def as_user(self, user):
        key = user.pk if user is not None else None
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = Client()
        if user is not None and client.session.get("_auth_user_id") != str(user.pk):
            client.force_login(user)
        return client


def _body_a_events(world):
    with scopes_disabled("test"):
        return AuditEvent.objects.filter(body=world.a.body).count()


def _request(client, method, url):
    if method == "GET":
        return client.get(url)
    if "/api/" in url:
        return client.post(url, data="{}", content_type="application/json")
    return client.post(url, data={})


def walk(world, urlconf=None, routes=ROUTES, unwalkable=UNWALKABLE, only=None):
    """Return a list of problems; empty when nothing leaks and every route was walked.

    ``only`` restricts the walk to some route names (the harness's own tests use it to stay quick)."""
    problems, walked = [], 0
    clients = Clients()
    login_url = reverse(settings.LOGIN_URL, urlconf=urlconf)
    owners = world.owners()
    for route in sorted(iter_routes(urlconf), key=lambda r: (r.name, sorted(r.kwarg_names))):
        if route.name in unwalkable or (only is not None and route.name not in only):
            continue
        if route.name.startswith("<unnamed"):
            problems.append(f"{route.name}: give it a name, or list it in UNWALKABLE with a reason")
            continue
        object_kwargs = route.kwarg_names - {"format"}
        spec = routes.get(route.name)
        if object_kwargs and spec is None:
            problems.append(f"{route.name}: needs {sorted(object_kwargs)}; register it in tests/isolation.ROUTES")
            continue
        kwargs = dict(spec.kwargs(world)) if spec else {}
        if "format" in route.kwarg_names:
            kwargs["format"] = "json"
        url = reverse(route.name, kwargs=kwargs or None, urlconf=urlconf)
        walked += 1

        if spec is not None and spec.owner is not None:
            response = clients.as_user(owners[spec.owner]).get(url)
            if response.status_code != 200:
                problems.append(f"{route.name}: owner ({spec.owner}) got {response.status_code}, expected 200")
            elif spec.owner_sees_marker and not any(m in response.content.decode(errors="ignore")
                                                    for m in world.markers):
                problems.append(f"{route.name}: owner's page does not show the marker; the check cannot bite")

        events_before = _body_a_events(world)
        for who, user in world.outsiders().items():
            for method in ("GET", "POST"):
                response = _request(clients.as_user(user), method, url)
                status = response.status_code
                body = b"" if getattr(response, "streaming", False) else response.content
                text = body.decode(errors="ignore")
                if status >= 500:
                    problems.append(f"{method} {url} as {who}: server error {status}")
                leaked = [m for m in world.markers if m in text]
                if leaked:
                    problems.append(f"{method} {url} as {who}: shows body A's private data {leaked}")
                if spec is not None and spec.object_route:
                    to_login = status == 302 and response["Location"].startswith(login_url)
                    if status not in DENIED and not to_login:
                        problems.append(f"{method} {url} as {who}: got {status}, expected 403/404 or login")
        if _body_a_events(world) != events_before:
            problems.append(f"{route.name}: an outsider's request changed body A (new audit events)")
    if walked == 0:
        problems.append("no route was walked")
    return problems
