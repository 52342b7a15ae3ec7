import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import SuspiciousOperation
from django.dispatch import receiver
from django.utils import translation
from django.utils.translation import gettext as _

from certification import audit, tenancy
from certification.selectors import resolve_roles

LAST_SEEN_RESOLUTION = 30  # seconds; avoids a session write on every request


def client_ip(request):
    """The client's address: REMOTE_ADDR, or the hop our own NUM_PROXIES proxies appended."""
    if settings.NUM_PROXIES:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= settings.NUM_PROXIES:
            return forwarded[-settings.NUM_PROXIES]
    return request.META.get("REMOTE_ADDR")


@receiver(user_logged_in)
def start_session_clock(sender, request, user, **kwargs):
    roles = resolve_roles(user)
    now = int(time.time())
    request.session["auth_started"] = now
    request.session["last_seen"] = now
    request.session["idle_limit"] = (
        settings.SESSION_IDLE_SECONDS_STAFF if roles.membership else settings.SESSION_IDLE_SECONDS_OTHER
    )


class SessionExpiryMiddleware:
    """Idle and absolute session limits (staff: 30 min idle, 12 h absolute by default)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated and hasattr(request, "session"):
            now = int(time.time())
            session = request.session
            started = session.get("auth_started", now)
            last_seen = session.get("last_seen", now)
            idle_limit = session.get("idle_limit", settings.SESSION_IDLE_SECONDS_STAFF)
            if now - started > settings.SESSION_ABSOLUTE_SECONDS or now - last_seen > idle_limit:
                logout(request)
                if not request.path.startswith("/api/"):
                    messages.info(request, _("Your session has expired. Please log in again."))
                    return redirect_to_login(request.get_full_path())
            else:
                if now - last_seen >= LAST_SEEN_RESOLUTION:
                    session["last_seen"] = now
                session.setdefault("auth_started", started)
        return self.get_response(request)


class TenantScopeMiddleware:
    """Activates the tenant scope of the logged-in user for the whole request, and the audit actor."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        roles = resolve_roles(request.user, preferred_body=request.session.get("body_id"))
        request.membership = roles.membership
        request.holder_membership = roles.holder_membership
        request.lab_membership = roles.lab_membership
        request.tenant = roles.body
        scope_token = tenancy.activate(roles.scope)
        actor_token = audit.set_actor(request.user if request.user.is_authenticated else None, client_ip(request))
        try:
            return self.get_response(request)
        finally:
            audit.reset_actor(actor_token)
            tenancy.deactivate(scope_token)


class UserLanguageMiddleware:
    """A logged-in person's remembered language applies on a device that has no language cookie yet (a new
    phone, a cleared browser); the cookie, once chosen on the device, wins."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (settings.LANGUAGE_COOKIE_NAME not in request.COOKIES and user is not None and user.is_authenticated
                and getattr(user, "language", None)):
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        return self.get_response(request)


class NulCharacterMiddleware:
    """PostgreSQL text cannot hold a NUL character, so a path or query string carrying one would fail deep in a
    query (500). Refuse it at the door as a bad request (400; JSON under /api/). Form fields and API bodies
    are already checked by Django's and DRF's field validators."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any("\x00" in key or any("\x00" in value for value in values)
                                         for key, values in request.GET.lists()):
            raise SuspiciousOperation("NUL character in the path or query string")
        return self.get_response(request)
