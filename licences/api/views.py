from django.db import IntegrityError, transaction
from rest_framework import mixins, serializers, viewsets

from certification.api.mixins import ConditionalUpdateMixin, IdempotentWriteMixin
from certification.api.permissions import StaffCapability
from licences import selectors, services
from licences.api.serializers import LicenceHolderSerializer


class LicenceHolderViewSet(IdempotentWriteMixin, ConditionalUpdateMixin, mixins.CreateModelMixin,
                           mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Licence-holders of the caller's body. Staff systems (body API keys with a staff role) read them
    (capability registry.view) and register or update them (registry.edit). Writes accept an
    Idempotency-Key; updates need If-Match with the ETag of the version read."""

    serializer_class = LicenceHolderSerializer
    filterset_fields = {"name": ["icontains"], "company_number": ["exact"]}
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_permissions(self):
        capability = "registry.view" if self.action in ("list", "retrieve", None) else "registry.edit"
        return [StaffCapability.of(capability)()]

    def get_queryset(self):
        return selectors.holders_for_staff().order_by("name", "pk")

    def perform_create(self, serializer):
        try:
            with transaction.atomic():
                serializer.instance = services.do_register_holder(body=self.request._request.tenant,
                                                                  **serializer.validated_data)
        except IntegrityError:
            raise serializers.ValidationError({"company_number": ["A holder with this number exists."]}) from None
        self._written = serializer.instance

    def perform_update(self, serializer):
        try:
            with transaction.atomic():
                serializer.instance = services.do_update_holder(holder=serializer.instance,
                                                                changes=dict(serializer.validated_data))
        except IntegrityError:
            raise serializers.ValidationError({"company_number": ["A holder with this number exists."]}) from None
        self._written = serializer.instance
