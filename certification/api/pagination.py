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
