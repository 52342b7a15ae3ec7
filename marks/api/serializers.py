from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from marks.models import (
    ChecklistItem,
    Mark,
    ProductCategory,
    ReferenceDocument,
    Regulation,
    RegulationVersion,
    Requirement,
)


class MarkSerializer(serializers.ModelSerializer):
    class Meta:
        model = Mark
        fields = ["code", "name", "kind", "owner_organisation", "description"]


class ProductCategorySerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = ProductCategory
        fields = ["code", "parent", "name_en", "name_fr", "name_nl"]


class ReferenceDocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReferenceDocument
        fields = ["code", "title", "kind", "issuer", "valid_from", "valid_until"]


class RequirementSerializer(serializers.ModelSerializer):
    test_method = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = Requirement
        fields = ["property_code", "property_name", "test_method", "unit", "lower_limit", "upper_limit",
                  "declared_tolerance", "conformity_rule", "self_monitoring_every", "self_monitoring_basis",
                  "sampled_externally", "order", "ocl_limit_a", "ocl_limit_b", "ocl_tonnes_a", "ocl_tonnes_b",
                  "ocl_tonnes_c", "ocl_start_level", "ocl_escalate_at_c", "finding_severity"]


class ChecklistItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChecklistItem
        fields = ["code", "text", "mandatory", "order"]


class VersionSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = RegulationVersion
        fields = ["id", "version", "status", "effective_date", "transition_end", "published_at"]


class RegulationSerializer(serializers.ModelSerializer):
    mark = serializers.SlugRelatedField(slug_field="code", read_only=True)
    categories = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    versions = serializers.SerializerMethodField()

    class Meta:
        model = Regulation
        fields = ["id", "code", "title", "mark", "categories", "sector_committee", "versions"]

    @extend_schema_field(VersionSummarySerializer(many=True))
    def get_versions(self, regulation):
        return VersionSummarySerializer(regulation.versions.all(), many=True).data


class RegulationVersionSerializer(serializers.ModelSerializer):
    regulation = serializers.SlugRelatedField(slug_field="code", read_only=True)
    regulation_id = serializers.IntegerField(read_only=True)
    previous = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    reference_documents = ReferenceDocumentSerializer(many=True, read_only=True)
    requirements = RequirementSerializer(many=True, read_only=True)
    checklist = ChecklistItemSerializer(many=True, read_only=True)

    class Meta:
        model = RegulationVersion
        fields = ["id", "regulation", "regulation_id", "version", "status", "previous", "effective_date",
                  "transition_end", "visits_per_year_admission", "visits_per_year_normal",
                  "visits_per_year_reinforced", "unannounced_share", "samples_per_year", "changes_summary",
                  "published_at", "row_version", "reference_documents", "requirements", "checklist"]
