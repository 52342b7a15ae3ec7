"""JSON errors everywhere under /api/: DRF's own, and Django's 400/403/404/500 handlers."""

from django.http import JsonResponse
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"detail": response.data["detail"], "code": getattr(response.data["detail"], "code", "error")}
    return response


def _json_or_default(status, message, default_view):
    def handler(request, exception=None, **kwargs):
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message, "code": f"http_{status}"}, status=status)
        if exception is not None:
            return default_view(request, exception, **kwargs)
        return default_view(request, **kwargs)

    return handler
