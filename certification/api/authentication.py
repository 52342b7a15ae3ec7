"""``Authorization: Api-Key <prefix>.<secret>``: partner systems' credentials.

A valid key activates its owner's tenant scope for the rest of the request (the tenancy middleware
resets it at the end), sets ``request.membership`` / ``holder_membership`` / ``lab_membership`` /
``tenant`` on the Django request like a logged-in user of that kind would have, and makes the key's
creator the audit actor. Keys without the ``write`` scope are refused on unsafe methods (403).
"""

from datetime import timedelta

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS

from certification import audit, tenancy
from certification.middleware import client_ip
from certification.models import ApiKey, Membership

KEYWORD = "Api-Key"
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKeyPrincipal:
    """``request.user`` of a request authenticated by an API key (not a person, not a database row)."""

    is_authenticated = True
    is_active = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    pk = id = None

    def __init__(self, api_key):
        self.api_key = api_key
        self.email = f"api-key:{api_key.prefix}"
        self.full_name = api_key.name

    def __str__(self):
        return self.email

    def has_perm(self, perm, obj=None):
        return False

    def get_all_permissions(self, obj=None):
        return set()


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate_header(self, request):
        return KEYWORD

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].decode(errors="ignore").lower() != KEYWORD.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Use: Authorization: Api-Key <prefix>.<secret>")
        try:
            prefix, secret = parts[1].decode().split(".", 1)
        except (UnicodeDecodeError, ValueError):
            raise exceptions.AuthenticationFailed("Malformed API key.") from None
        with tenancy.scopes_disabled("api key lookup"):
            key = (ApiKey.objects.select_related("body", "holder", "laboratory", "created_by")
                   .filter(prefix=prefix).first())
        if key is None or not key.check_secret(secret) or not key.is_usable or not key.body.is_active:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked API key.")
        if request.method not in SAFE_METHODS and "write" not in key.scopes:
            raise exceptions.PermissionDenied("This API key has the read scope only.")
        self._activate(request, key)
        return ApiKeyPrincipal(key), key

    def _activate(self, request, key):
        django_request = request._request
        django_request.tenant = key.body
        django_request.membership = django_request.holder_membership = django_request.lab_membership = None
        if key.kind == ApiKey.Kind.BODY:
            django_request.membership = Membership(body=key.body, role=key.role, is_active=True)
            scope = tenancy.Scope(body=key.body_id)
        elif key.kind == ApiKey.Kind.HOLDER:
            from licences.models import HolderMembership

            django_request.holder_membership = HolderMembership(body=key.body, holder=key.holder,
                                                                role=HolderMembership.Role.CONTRIBUTOR)
            scope = tenancy.Scope(body=key.body_id, holder=key.holder_id)
        else:
            from sampling.models import LaboratoryMembership

            django_request.lab_membership = LaboratoryMembership(body=key.body, laboratory=key.laboratory)
            scope = tenancy.Scope(body=key.body_id, laboratory=key.laboratory_id)
        # The tenancy middleware resets both context variables to their state before the request.
        tenancy.activate(scope)
        audit.set_actor(key.created_by, client_ip(django_request))
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            with tenancy.scopes_disabled("api key last use"):
                ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
