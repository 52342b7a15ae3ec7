from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response


class MeSerializer(serializers.Serializer):
    email = serializers.EmailField()
    full_name = serializers.CharField()
    kind = serializers.ChoiceField(choices=["staff", "portal", "lab", "none"])
    role = serializers.CharField(allow_null=True)
    body = serializers.CharField(allow_null=True)


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
    return Response(MeSerializer({"email": request.user.email, "full_name": request.user.full_name,
                                  "kind": kind, "role": role, "body": body}).data)
