"""Who may do what: staff roles give capabilities; portal and lab users are tied to one company.

Object-level grants that a role cannot express (an inspector on the visits assigned to them, a lab
on its samples) go through django-guardian with ``accept_global_perms=False``: see ``has_object_grant``.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from guardian.core import ObjectPermissionChecker

from certification.models import Role

CAPABILITIES = {
    Role.ADMIN: {"registry.view", "registry.edit", "body.manage", "decisions.take", "planning.manage",
                 "regulations.edit", "audit.view"},
    Role.OFFICER: {"registry.view", "registry.edit", "decisions.take", "regulations.edit", "audit.view"},
    Role.PLANNER: {"registry.view", "planning.manage"},
    Role.INSPECTOR: {"inspections.perform"},
    Role.AUDITOR: {"registry.view", "audit.view"},
}


def has_capability(request, capability):
    membership = getattr(request, "membership", None)
    return membership is not None and capability in CAPABILITIES.get(membership.role, set())


def _guard(check):
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not check(request):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def staff_required(capability="registry.view"):
    return _guard(lambda request: has_capability(request, capability))


portal_required = _guard(lambda request: getattr(request, "holder_membership", None) is not None)
lab_required = _guard(lambda request: getattr(request, "lab_membership", None) is not None)


class StaffRequiredMixin:
    capability = "registry.view"

    def dispatch(self, request, *args, **kwargs):
        return staff_required(self.capability)(super().dispatch)(request, *args, **kwargs)


class PortalRequiredMixin:
    def dispatch(self, request, *args, **kwargs):
        return portal_required(super().dispatch)(request, *args, **kwargs)


class LabRequiredMixin:
    def dispatch(self, request, *args, **kwargs):
        return lab_required(super().dispatch)(request, *args, **kwargs)


def has_object_grant(user, perm, obj, checker=None):
    """Object-level grant only: a model-wide permission never stands in for it."""
    if not user.is_authenticated or not user.is_active:
        return False
    checker = checker or ObjectPermissionChecker(user)
    return perm.split(".")[-1] in checker.get_perms(obj)
