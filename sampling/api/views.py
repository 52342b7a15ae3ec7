from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from licences.models import Product
from sampling import selectors, services
from sampling.api.serializers import LabCorrectionSerializer, LabResultSerializer, SelfMonitoringSerializer
from sampling.models import LabResult, SelfMonitoringResult


class IsLabUser(BasePermission):
    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request._request.lab_membership)


class IsPortalUser(BasePermission):
    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request._request.holder_membership)


def _drf_error(exc):
    if hasattr(exc, "message_dict"):
        return ValidationError(exc.message_dict)
    return ValidationError({"non_field_errors": exc.messages})


def _person(request):
    """The person answerable for a write: the user, or whoever issued the API key making it."""
    api_key = getattr(request.user, "api_key", None)
    return api_key.created_by if api_key is not None else request.user


class LabResultViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                       viewsets.GenericViewSet):
    """Results of the caller's laboratory. POST records one; POST .../correct/ supersedes one with a reason."""

    permission_classes = [IsLabUser]
    serializer_class = LabResultSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return LabResult.objects.none()
        samples = selectors.samples_for_lab(self.request.user)
        return LabResult.objects.filter(sample__in=samples).order_by("id")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        sample = selectors.samples_for_lab(request.user).filter(pk=data["sample_id"]).first()
        if sample is None or not services.lab_may_handle(request.user, sample):
            raise ValidationError({"sample": ["Unknown sample."]})
        requirement = services.requirements_of(sample.licence).filter(property_code=data["property_code"]).first()
        if requirement is None:
            raise ValidationError({"property_code": ["Not a property of this sample's regulation."]})
        try:
            result = services.do_record_lab_result(
                sample=sample, requirement=requirement, value=data["value"], unit=data.get("unit", ""),
                uncertainty=data.get("uncertainty"), tested_on=data["tested_on"], by=_person(request),
                source=LabResult.Source.API)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from exc
        return Response(LabResultSerializer(result).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=LabCorrectionSerializer, responses=LabResultSerializer)
    @action(detail=True, methods=["post"])
    def correct(self, request, pk=None, **kwargs):
        original = self.get_object()
        serializer = LabCorrectionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            corrected = services.do_correct_lab_result(result=original, by=_person(request), **serializer.validated_data)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from exc
        return Response(LabResultSerializer(corrected).data, status=status.HTTP_201_CREATED)


class SelfMonitoringViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                            viewsets.GenericViewSet):
    """The caller's company's self-monitoring results; POST records one (product = 8-digit product code)."""

    permission_classes = [IsPortalUser]
    serializer_class = SelfMonitoringSerializer
    filterset_fields = {"property_code": ["exact"], "tested_on": ["gte", "lte"]}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return SelfMonitoringResult.objects.none()
        holder = self.request._request.holder_membership.holder
        return SelfMonitoringResult.objects.filter(holder=holder).select_related("product").order_by("id")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        holder = request._request.holder_membership.holder
        product = Product.objects.filter(holder=holder, quick_code=data["product"]["quick_code"]).first()
        if product is None:
            raise ValidationError({"product": ["Unknown product."]})
        try:
            result = services.do_record_self_monitoring(
                holder=holder, product=product, property_code=data["property_code"], tested_on=data["tested_on"],
                value=data["value"], unit=data.get("unit", ""), batch=data.get("batch", ""),
                tonnage=data.get("tonnage"), by=_person(request), source=SelfMonitoringResult.Source.API)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from exc
        return Response(SelfMonitoringSerializer(result).data, status=status.HTTP_201_CREATED)


