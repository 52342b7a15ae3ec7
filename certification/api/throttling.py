"""One rate limit per API key (keyed on the key's id), per user for sessions, per client address otherwise.

The anonymous client address comes from DRF's ``get_ident``, which honours ``NUM_PROXIES``: with no
trusted proxy configured, a forged ``X-Forwarded-For`` does not buy fresh addresses.
"""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from certification.models import ApiKey


def rates():
    return settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {})


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"

    def __init__(self):
        # Rates are read per request, so that settings overrides apply (SimpleRateThrottle caches them).
        pass

    def allow_request(self, request, view):
        if isinstance(request.auth, ApiKey):
            self.scope = "api_key"
        elif request.user and request.user.is_authenticated:
            self.scope = "user"
        else:
            self.scope = "anon"
        self.rate = rates().get(self.scope)
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            ident = f"key{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user{request.user.pk}"
        else:
            ident = f"ip{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
