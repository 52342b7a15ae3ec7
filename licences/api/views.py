from rest_framework import viewsets

from certification.api.permissions import StaffCapability
from licences import selectors
from licences.api.serializers import LicenceHolderSerializer


class LicenceHolderViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [StaffCapability.of("registry.view")]
    serializer_class = LicenceHolderSerializer
    filterset_fields = {"name": ["icontains"], "company_number": ["exact"]}

    def get_queryset(self):
        return selectors.holders_for_staff().order_by("name", "pk")
