from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import api_view
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from certification.access import has_capability
from certification.api import services
from certification.api.mixins import ConditionalUpdateMixin, IdempotentWriteMixin, etag_header
from certification.models import ApiKey, WebhookSubscription
from certification.webhooks import url_allowed


class MeSerializer(serializers.Serializer):
    email = serializers.CharField()
    full_name = serializers.CharField()
    kind = serializers.ChoiceField(choices=["staff", "portal", "lab", "none"])
    role = serializers.CharField(allow_null=True)
    body = serializers.CharField(allow_null=True)
    api_key = serializers.CharField(allow_null=True, help_text="Prefix of the API key used, if any.")


@extend_schema(responses=MeSerializer)
@api_view(["GET"])
def me(request):
    """Who the caller is, and in which body."""
    django_request = request._request
    kind, role = "none", None
    if django_request.membership:
        kind, role = "staff", django_request.membership.role
    elif django_request.holder_membership:
        kind, role = "portal", django_request.holder_membership.role
    elif django_request.lab_membership:
        kind = "lab"
    body = django_request.tenant.code if django_request.tenant else None
    api_key = request.auth.prefix if isinstance(request.auth, ApiKey) else None
    return Response(MeSerializer({"email": request.user.email, "full_name": request.user.full_name,
                                  "kind": kind, "role": role, "body": body, "api_key": api_key}).data)


class IsApiKey(BasePermission):
    message = "This endpoint is for API keys (Authorization: Api-Key <prefix>.<secret>)."

    def has_permission(self, request, view):
        return isinstance(request.auth, ApiKey)


class ApiKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "kind", "role", "holder", "laboratory", "scopes", "prefix", "created_at",
                  "expires_at", "revoked_at", "last_used_at"]
        read_only_fields = fields


class ApiKeyViewSet(viewsets.ReadOnlyModelViewSet):
    """API keys: an API key sees itself; a staff user with body.manage sees the body's keys.
    Keys are created and revoked on the staff page /staff/api-keys/ or with `manage.py api_keys`."""

    serializer_class = ApiKeySerializer
    filterset_fields = {"prefix": ["exact"]}

    def get_queryset(self):
        keys = ApiKey.objects.select_related(None).order_by("-created_at", "-pk")
        if isinstance(self.request.auth, ApiKey):
            return keys.filter(pk=self.request.auth.pk)
        if has_capability(self.request._request, "body.manage"):
            return keys
        return keys.none()


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    certificates = serializers.ListField(
        child=serializers.CharField(max_length=100, allow_blank=False), max_length=services.MAX_WATCHLIST,
        help_text="Certificate numbers to watch.",
    )
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=services.EVENT_TYPES),
                                        required=False, help_text="Defaults to all event types.")
    url = serializers.URLField(max_length=500)

    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "certificates", "event_types", "is_active", "created_at", "row_version"]
        read_only_fields = ["id", "created_at", "row_version"]

    def validate_url(self, value):
        if not url_allowed(value):
            raise serializers.ValidationError("Give an http(s) URL of a publicly reachable host.")
        return value


class WebhookSubscriptionCreatedSerializer(WebhookSubscriptionSerializer):
    secret = serializers.CharField(read_only=True, help_text="Signing secret: shown once, keep it.")

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]


@extend_schema_view(
    create=extend_schema(request=WebhookSubscriptionSerializer,
                         responses={201: WebhookSubscriptionCreatedSerializer}),
    destroy=extend_schema(responses={204: OpenApiResponse(description="Unsubscribed.")}),
)
class WebhookSubscriptionViewSet(IdempotentWriteMixin, ConditionalUpdateMixin, viewsets.ModelViewSet):
    """Webhook subscriptions of the calling API key: status changes of the watched certificates are
    POSTed, signed, to `url`. The signing secret is returned once, on creation."""

    serializer_class = WebhookSubscriptionSerializer
    permission_classes = [IsApiKey]

    def get_queryset(self):
        return (WebhookSubscription.objects.filter(api_key=self.request.auth)
                .prefetch_related("watches").order_by("created_at", "pk"))

    def create(self, request, *args, **kwargs):
        # Outermost: the secret is added after the idempotency record is stored, so it is never stored.
        return self._with_secret(super().create(request, *args, **kwargs))
    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        data.setdefault("event_types", list(services.EVENT_TYPES))
        try:
            serializer.instance = services.do_create_subscription(api_key=self.request.auth, **data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        self._written = serializer.instance

    def perform_update(self, serializer):
        try:
            serializer.instance = services.do_update_subscription(subscription=serializer.instance,
                                                                  changes=dict(serializer.validated_data))
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        self._written = serializer.instance

    def perform_destroy(self, instance):
        services.do_delete_subscription(subscription=instance)

    def _with_secret(self, response):
        written = getattr(self, "_written", None)
        if response.status_code == status.HTTP_201_CREATED and written is not None:
            response.data = {**WebhookSubscriptionSerializer(written).data, "secret": written.secret}
            response["ETag"] = etag_header(written)
        return response

