from rest_framework import viewsets
from rest_framework.permissions import AllowAny

from marks import selectors
from marks.api.serializers import MarkSerializer, ProductCategorySerializer


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
