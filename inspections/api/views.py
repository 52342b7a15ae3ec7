"""Visits over the REST API, for the body's staff systems (body API keys with a staff role, or staff sessions).

Reads: ``registry.view`` sees the body's visits; the inspector role (``inspections.perform`` alone) sees only
the visits it holds the object grant on — the rule of the inspector's pages. Writes (``planning.manage``) call
the inspections services: plan (create), reschedule / assign / reassign (PATCH, If-Match), cancel (POST
.../cancel/, If-Match). Every write accepts an Idempotency-Key.
"""

import django_filters
from django.db import transaction
from drf_spectacular.utils import extend_schema, extend_schema_view
from guardian.shortcuts import get_objects_for_user
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from certification.access import has_capability
from certification.api.filters import StrictFilterSet
from certification.api.mixins import ConditionalUpdateMixin, IdempotentWriteMixin, etag_header
from certification.models import ApiKey
from inspections import services
from inspections.api.serializers import (
    VisitCancelSerializer,
    VisitCreateSerializer,
    VisitDetailSerializer,
    VisitSerializer,
    VisitUpdateSerializer,
)
from inspections.models import Visit

READ_CAPABILITIES = ("registry.view", "inspections.perform")
WRITE_CAPABILITY = "planning.manage"


class VisitPermission(BasePermission):
    """Staff (session or body key) with a capability that lets them see visits; writes need planning.manage."""

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        django_request = request._request
        if view.action in ("list", "retrieve", None):
            return any(has_capability(django_request, c) for c in READ_CAPABILITIES)
        return has_capability(django_request, WRITE_CAPABILITY)


class VisitFilter(StrictFilterSet):
    state = django_filters.ChoiceFilter(choices=Visit.State.choices)
    kind = django_filters.ChoiceFilter(choices=Visit.Kind.choices)
    licence = django_filters.NumberFilter(field_name="licence_id", help_text="Licence id.")
    inspector = django_filters.NumberFilter(field_name="inspector_id", help_text="User id of the inspector.")
    planned_from = django_filters.DateFilter(field_name="planned_for", lookup_expr="gte",
                                             help_text="Planned on or after (YYYY-MM-DD).")
    planned_until = django_filters.DateFilter(field_name="planned_for", lookup_expr="lte",
                                              help_text="Planned on or before (YYYY-MM-DD).")
    unassigned = django_filters.ChoiceFilter(choices=[("true", "true"), ("false", "false")], method="filter_unassigned",
                                             help_text="true: only visits without an inspector; false: only with one.")

    class Meta:
        model = Visit
        fields = ["state", "kind", "licence", "inspector", "planned_from", "planned_until", "unassigned"]

    def filter_unassigned(self, queryset, name, value):
        return queryset.filter(inspector__isnull=value == "true")


def grant_holder(request):
    """Whose object grants an inspector-role caller uses: the user, or for an API key the staff member who
    issued it (a key is not a person; a key without an issuer sees nothing)."""
    if isinstance(request.auth, ApiKey):
        return request.auth.created_by
    return request.user


@extend_schema_view(
    create=extend_schema(request=VisitCreateSerializer, responses={201: VisitDetailSerializer}),
    partial_update=extend_schema(request=VisitUpdateSerializer, responses={200: VisitDetailSerializer}),
    retrieve=extend_schema(responses={200: VisitDetailSerializer}),
)
class VisitViewSet(IdempotentWriteMixin, ConditionalUpdateMixin, mixins.CreateModelMixin,
                   mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Inspection visits of the caller's body. Body keys / staff with registry.view list and read them (an
    inspector-role caller only the visits assigned to it); planning.manage plans, reschedules, assigns,
    reassigns and cancels them. Assignment follows the qualification and conflict-of-interest rules (field
    errors on `inspector` or `planned_for`). Updates and cancel need If-Match with the visit's ETag
    (from its row_version); writes accept an Idempotency-Key."""

    permission_classes = [VisitPermission]
    filterset_class = VisitFilter
    http_method_names = ["get", "post", "patch", "head", "options"]
    if_match_actions = ("cancel",)

    def get_serializer_class(self):
        return {"list": VisitSerializer, "create": VisitCreateSerializer, "partial_update": VisitUpdateSerializer,
                "update": VisitUpdateSerializer, "cancel": VisitCancelSerializer}.get(self.action,
                                                                                    VisitDetailSerializer)

    def get_queryset(self):
        visits = Visit.objects.select_related("licence__holder", "site", "inspector").order_by("planned_for", "pk")
        if getattr(self, "swagger_fake_view", False):
            return visits.none()
        if self.action != "list":
            visits = visits.prefetch_related("findings__checklist_item")
        if has_capability(self.request._request, "registry.view"):
            return visits
        # Inspector role: the visits assigned to them (guardian object grant), nothing else.
        user = grant_holder(self.request)
        if user is None or not user.is_active:
            return visits.none()
        return get_objects_for_user(user, "inspections.change_visit", klass=visits, accept_global_perms=False,
                                    with_superuser=False)

    def perform_create(self, serializer):
        data = serializer.validated_data
        with transaction.atomic():
            visit = services.do_create_visit(licence=data["licence"], kind=data["kind"],
                                             planned_for=data["planned_for"], announced=data.get("announced", True),
                                             reason=data.get("reason", ""))
            if data.get("inspector") is not None:
                visit = services.do_assign(visit=visit, inspector=data["inspector"], reason=data.get("reason", ""))
        serializer.instance = self._written = self._fresh(visit)

    def perform_update(self, serializer):
        visit, data = serializer.instance, serializer.validated_data
        reason = data.get("reason", "")
        version = visit.row_version
        # The row is locked and its ETag checked (ConditionalUpdateMixin); each service re-checks the version.
        # Both in one request: assign first, so that the new date is checked against the new inspector. (The
        # new inspector must then be eligible on the old date too; one transaction, so all or nothing.)
        if data.get("inspector") is not None and data["inspector"].pk != visit.inspector_id:
            visit = services.do_assign(visit=visit, inspector=data["inspector"], reason=reason,
                                       expected_version=version)
            version = visit.row_version
        if "planned_for" in data and data["planned_for"] != visit.planned_for:
            visit = services.do_reschedule(visit=visit, planned_for=data["planned_for"], reason=reason,
                                           expected_version=version)
        serializer.instance = self._written = self._fresh(visit)

    @extend_schema(request=VisitCancelSerializer, responses={200: VisitDetailSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, **kwargs):
        """Cancel a visit not yet started (planned or assigned); the inspector loses its rights on it."""
        return self._idempotent(self._cancel, request, *args, **kwargs)

    def _cancel(self, request, *args, **kwargs):
        self.get_object()  # first: 404 for "not yours" as for "does not exist", whatever the request says
        with transaction.atomic():
            visit = self.lock_if_match(request)
            serializer = VisitCancelSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            visit = services.do_cancel(visit=visit, reason=serializer.validated_data["reason"],
                                       expected_version=visit.row_version)
        visit = self._fresh(visit)
        response = Response(VisitDetailSerializer(visit).data)
        response["ETag"] = etag_header(visit)
        return response

    def _fresh(self, visit):
        return (Visit.objects.select_related("licence__holder", "site", "inspector")
                .prefetch_related("findings__checklist_item").get(pk=visit.pk))

    def permission_denied(self, request, message=None, code=None):
        if request.authenticators and not request.successful_authenticator:
            return super().permission_denied(request, message, code)
        raise PermissionDenied("Visits are for the body's staff systems: a body key or staff login with the "
                               "capability for this action.")
