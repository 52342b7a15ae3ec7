from rest_framework import viewsets
from rest_framework.permissions import AllowAny

from certification.api.permissions import StaffCapability
from marks import selectors
from marks.api.serializers import (
    MarkSerializer,
    ProductCategorySerializer,
    RegulationSerializer,
    RegulationVersionSerializer,
)


class MarkViewSet(viewsets.ReadOnlyModelViewSet):
    """Marks are global reference data, readable by anyone."""

    permission_classes = [AllowAny]
    serializer_class = MarkSerializer
    lookup_field = "code"
    queryset = selectors.marks().order_by("code")


class ProductCategoryViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [AllowAny]
    serializer_class = ProductCategorySerializer
    lookup_field = "code"
    queryset = selectors.category_tree()
    filterset_fields = {"parent__code": ["exact"]}


class RegulationViewSet(viewsets.ReadOnlyModelViewSet):
    """The body's regulations (TRA) with a summary of their versions; read-only, tenant-scoped."""

    permission_classes = [StaffCapability.of("registry.view")]
    serializer_class = RegulationSerializer
    filterset_fields = {"code": ["exact"], "mark__code": ["exact"]}

    def get_queryset(self):
        return selectors.regulations_for_staff().prefetch_related("versions").order_by("code", "pk")


class RegulationVersionViewSet(viewsets.ReadOnlyModelViewSet):
    """Regulation versions with their requirements, checklist and reference documents; read-only."""

    permission_classes = [StaffCapability.of("registry.view")]
    serializer_class = RegulationVersionSerializer
    filterset_fields = {"regulation": ["exact"], "status": ["exact"]}

    def get_queryset(self):
        return (selectors.versions_for_staff()
                .prefetch_related("reference_documents", "requirements__test_method", "checklist")
                .order_by("regulation__code", "-version", "pk"))
