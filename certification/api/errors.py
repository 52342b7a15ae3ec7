"""JSON errors everywhere under /api/: DRF's own, and Django's 400/403/404/500 handlers.

Error bodies: ``{"detail": "...", "code": "..."}`` for request-level errors, and DRF's
``{"field": ["message", ...], ...}`` for validation errors (``non_field_errors`` for the rest).
"""

from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": "Request body too large.", "code": "request_too_large"}, status=413)
    if isinstance(exc, SuspiciousOperation):
        return Response({"detail": "Bad request.", "code": "bad_request"}, status=400)
    if isinstance(exc, RecursionError):
        return Response({"detail": "JSON nested too deeply.", "code": "parse_error"}, status=400)
    if isinstance(exc, DjangoValidationError):
        # A model's full_clean() in a service: field messages, like a serializer's.
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        if NON_FIELD_ERRORS in detail:
            detail["non_field_errors"] = detail.pop(NON_FIELD_ERRORS)
        exc = exceptions.ValidationError(detail)
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
