from rest_framework.permissions import BasePermission

from certification.access import has_capability


class StaffCapability(BasePermission):
    """``permission_classes = [StaffCapability.of("registry.view")]``."""

    capability = "registry.view"

    @classmethod
    def of(cls, capability):
        return type(f"StaffCapability_{capability.replace('.', '_')}", (cls,), {"capability": capability})

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and has_capability(request._request, self.capability))
