from rest_framework import serializers

from sampling.models import LabResult, SelfMonitoringResult


class LabResultSerializer(serializers.ModelSerializer):
    sample = serializers.IntegerField(source="sample_id")
    property_code = serializers.SlugField(max_length=60)
    supersedes = serializers.IntegerField(source="supersedes_id", read_only=True)

    class Meta:
        model = LabResult
        fields = ["id", "sample", "property_code", "value", "unit", "uncertainty", "tested_on", "supersedes",
                  "correction_reason", "entered_at"]
        read_only_fields = ["id", "supersedes", "correction_reason", "entered_at"]
        extra_kwargs = {"uncertainty": {"min_value": 0}}


class LabCorrectionSerializer(serializers.Serializer):
    value = serializers.DecimalField(max_digits=14, decimal_places=4)
    unit = serializers.CharField(max_length=30, allow_blank=True, required=False, default="")
    uncertainty = serializers.DecimalField(max_digits=14, decimal_places=4, required=False, allow_null=True,
                                           min_value=0)
    reason = serializers.CharField()


class SelfMonitoringSerializer(serializers.ModelSerializer):
    product = serializers.CharField(source="product.quick_code", max_length=8)

    class Meta:
        model = SelfMonitoringResult
        fields = ["id", "product", "property_code", "tested_on", "batch", "tonnage", "value", "unit",
                  "within_limits", "source", "entered_at"]
        read_only_fields = ["id", "within_limits", "source", "entered_at"]
        extra_kwargs = {"tonnage": {"min_value": 0}}
