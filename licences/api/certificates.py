"""API of certified products, certificates, licence status at a date and delivery verification.

Certified products, certificates and licence status are tenant-scoped reads for staff (``registry.view``)
and portal users (their own holder, through the scope). Delivery verification answers public data only
(the same selector as the public verification page), to anyone, under the anonymous throttle.
"""

import datetime as dt

from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.response import Response

from certification.access import has_capability
from certification.tenancy import public_reads
from licences import selectors
from licences.models import Certificate, Licence, Product


class StaffOrPortal(BasePermission):
    def has_permission(self, request, view):
        raw = request._request
        return bool(request.user and request.user.is_authenticated and (
            has_capability(raw, "registry.view") or getattr(raw, "holder_membership", None) is not None))


class LicenceRefSerializer(serializers.ModelSerializer):
    mark = serializers.CharField(source="mark.code")

    class Meta:
        model = Licence
        fields = ["id", "number", "mark", "state"]


class CertifiedProductSerializer(serializers.ModelSerializer):
    holder = serializers.CharField(source="holder.name")
    site = serializers.CharField(source="site.name")
    category = serializers.CharField(source="category.code")
    licences = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = ["id", "commercial_name", "quick_code", "category", "holder", "site", "technical_description",
                  "declared_characteristics", "licences"]

    @extend_schema_field(LicenceRefSerializer(many=True))
    def get_licences(self, product):
        return LicenceRefSerializer(product.licences.all(), many=True).data


class CertificateSerializer(serializers.ModelSerializer):
    full_number = serializers.CharField(read_only=True)
    licence = serializers.CharField(source="licence.number")
    licence_state = serializers.CharField(source="licence.state")
    superseded_by = serializers.SerializerMethodField()
    verification_url = serializers.SerializerMethodField()

    class Meta:
        model = Certificate
        fields = ["id", "full_number", "number", "version", "language", "licence", "licence_state", "issued_at",
                  "valid_until", "superseded_at", "superseded_by", "render_status", "sha256", "content",
                  "verification_url"]

    def get_superseded_by(self, certificate) -> str | None:
        return certificate.superseded_by.full_number if certificate.superseded_by_id else None

    def get_verification_url(self, certificate) -> str:
        return selectors.verification_url(certificate.full_number)


class CertifiedProductViewSet(viewsets.ReadOnlyModelViewSet):
    """Products covered by an active or suspended licence of your body (or your company)."""

    permission_classes = [StaffOrPortal]
    serializer_class = CertifiedProductSerializer
    filterset_fields = {"quick_code": ["exact"], "commercial_name": ["icontains"], "category__code": ["exact"]}

    def get_queryset(self):
        return (Product.objects.filter(licences__state__in=selectors.PUBLIC_LICENCE_STATES).distinct()
                .select_related("holder", "site", "category").prefetch_related("licences__mark")
                .order_by("commercial_name", "pk"))


class CertificateViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [StaffOrPortal]
    serializer_class = CertificateSerializer
    filterset_fields = {"number": ["exact"], "render_status": ["exact"]}

    def get_queryset(self):
        return (selectors.certificates().select_related("superseded_by")
                .order_by("number", "version", "pk"))


def _date_param(request, name="date", required=False):
    value = request.query_params.get(name)
    if not value:
        if required:
            raise ValidationError({name: [_("This parameter is required (YYYY-MM-DD).")]})
        return None
    parsed = None
    try:
        parsed = parse_date(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError({name: [_("Enter a date as YYYY-MM-DD.")]})
    return parsed


class LicenceStatusViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A licence's state now and at a date, with its state history (no reasons)."""

    permission_classes = [StaffOrPortal]
    serializer_class = LicenceRefSerializer

    def get_queryset(self):
        return selectors.licences().order_by("number", "pk")

    @extend_schema(parameters=[OpenApiParameter("date", str, description="YYYY-MM-DD")])
    def retrieve(self, request, *args, **kwargs):
        licence = self.get_object()
        on_date = _date_param(request) or dt.date.today()
        state = selectors.state_within_validity(licence, licence.state_on(selectors.end_of_day(on_date)), on_date)
        return Response({
            **LicenceRefSerializer(licence).data, "date": on_date, "state_on_date": state,
            "valid_on_date": state in Licence.VALID_STATES,
            "inspection_regime": licence.inspection_regime,
            "history": selectors.public_history(licence),
        })


class VerifySerializer(serializers.Serializer):
    reference = serializers.CharField()
    found = serializers.BooleanField()


class VerifyViewSet(viewsets.GenericViewSet):
    """Was the product or certificate ``reference`` (certificate number or 8-digit quick code) certified on
    ``date``? Public data only; anyone may ask."""

    permission_classes = [AllowAny]
    serializer_class = VerifySerializer
    pagination_class = None
    filter_backends = []

    @extend_schema(parameters=[OpenApiParameter("reference", str, required=True),
                               OpenApiParameter("date", str, description="delivery date, YYYY-MM-DD")])
    def list(self, request, *args, **kwargs):
        reference = (request.query_params.get("reference") or "").strip()
        if not reference:
            raise ValidationError({"reference": [_("This parameter is required.")]})
        on_date = _date_param(request)
        with public_reads():
            result = selectors.verify_delivery(reference, on_date)
            if not result.found:
                raise NotFound(_("No certificate or certified product matches this reference."))
            return Response(result.as_dict())

    @action(detail=False, methods=["get"], url_path="bulk", permission_classes=[AllowAny])
    def bulk(self, request, *args, **kwargs):
        """Several references at one date: ``?reference=A&reference=B&date=…`` (at most 50)."""
        references = request.query_params.getlist("reference")[:50]
        if not references:
            raise ValidationError({"reference": [_("Give at least one reference.")]})
        on_date = _date_param(request)
        with public_reads():
            return Response([selectors.verify_delivery(r, on_date).as_dict() for r in references])
