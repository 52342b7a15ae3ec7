from rest_framework import serializers

from marks.models import Mark, ProductCategory


class MarkSerializer(serializers.ModelSerializer):
    class Meta:
        model = Mark
        fields = ["code", "name", "kind", "owner_organisation", "description"]


class ProductCategorySerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = ProductCategory
        fields = ["code", "parent", "name_en", "name_fr", "name_nl"]
