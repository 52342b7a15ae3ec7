"""OpenAPI details drf-spectacular cannot infer: the API-key scheme, write headers, error responses."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

ERROR_COMPONENT = {
    "type": "object",
    "description": "`{\"detail\": ..., \"code\": ...}` for request errors; `{field: [messages]}` for invalid input.",
    # A filter or field may itself be called "code" or "detail": its messages (a list) then share the name.
    "properties": {"detail": {"anyOf": [{"type": "string"}, {"type": "array", "items": {}}]},
                   "code": {"anyOf": [{"type": "string"}, {"type": "array", "items": {}}]}},
    "additionalProperties": {},
}
ERRORS = {
    "400": "Invalid input (field messages), malformed or too deeply nested JSON.",
    "401": "Missing, invalid, expired or revoked credentials.",
    "403": "Authenticated, but not allowed (capability, or a read-only key writing).",
    "404": "No such object in your scope.",
    "405": "Method not allowed.",
    "406": "Not acceptable.",
    "412": "If-Match does not match the current ETag: the object changed.",
    "413": "Request body too large.",
    "415": "Unsupported media type: send application/json.",
    "422": "Idempotency-Key already used with a different request.",
    "428": "If-Match header required for updates.",
    "429": "Too many requests for this key (or address).",
}
READ_ERRORS = ("400", "401", "403", "404", "405", "406", "429")


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "certification.api.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Authorization: Api-Key <prefix>.<secret>` (keys are issued by the body's staff)."}


class AutoSchema(SpectacularAutoSchema):
    def get_override_parameters(self):
        from certification.api.mixins import ConditionalUpdateMixin, IdempotentWriteMixin

        params = list(super().get_override_parameters())
        method = self.method.upper()
        action = getattr(self.view, "action", None)
        if isinstance(self.view, IdempotentWriteMixin) and method in WRITE_METHODS:
            params.append(OpenApiParameter(
                "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
                description="Any unique string (≤255 chars). Resending the same request with the same key replays "
                            "the stored response; a different request with it gets 422."))
        if isinstance(self.view, ConditionalUpdateMixin) and (
                action in ("update", "partial_update") or action in getattr(self.view, "if_match_actions", ())):
            params.append(OpenApiParameter(
                "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True,
                description="The ETag of the version you read (GET returns it). 412 if stale, 428 if missing."))
        return params


def add_error_responses(result, generator, request, public):
    """Postprocessing hook: document the JSON error responses every operation can give."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_COMPONENT
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            codes = set(READ_ERRORS)
            if method.upper() in WRITE_METHODS:
                codes |= {"413", "415", "422"}
            if any(p.get("name") == "If-Match" for p in operation.get("parameters", [])):
                codes |= {"412", "428"}
            for code in sorted(codes):
                operation["responses"].setdefault(code, {
                    "description": ERRORS[code],
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                })
    return result
