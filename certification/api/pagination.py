from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class StablePageNumberPagination(PageNumberPagination):
    """Page numbers over a queryset that always has a total order (pk as the last key)."""

    page_size_query_param = "page_size"
    max_page_size = 500

    def paginate_queryset(self, queryset, request, view=None):
        raw_page = request.query_params.get(self.page_query_param)
        if raw_page is not None and raw_page not in self.last_page_strings and not (
                raw_page.isascii() and raw_page.isdigit() and int(raw_page) >= 1):
            raise ValidationError({self.page_query_param: ["A page number from 1."]})
        ordering = list(queryset.query.order_by) or list(queryset.model._meta.ordering or [])
        if "pk" not in ordering and "-pk" not in ordering and "id" not in ordering and "-id" not in ordering:
            queryset = queryset.order_by(*ordering, "pk")
        return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None:
            size = int(raw) if raw.isascii() and raw.isdigit() else 0
            if size < 1:
                raise ValidationError({self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]})
        return super().get_page_size(request)
