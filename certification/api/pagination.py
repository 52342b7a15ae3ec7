from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class StablePageNumberPagination(PageNumberPagination):
    """Page numbers over a queryset that always has a total order (pk as the last key)."""

    page_size_query_param = "page_size"
    max_page_size = 500

    def paginate_queryset(self, queryset, request, view=None):
        ordering = list(queryset.query.order_by) or list(queryset.model._meta.ordering or [])
        if "pk" not in ordering and "-pk" not in ordering and "id" not in ordering and "-id" not in ordering:
            queryset = queryset.order_by(*ordering, "pk")
        return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None:
            try:
                size = int(raw)
            except ValueError:
                size = 0
            if size < 1:
                raise ValidationError({self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]})
        return super().get_page_size(request)
