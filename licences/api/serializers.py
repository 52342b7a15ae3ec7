from rest_framework import serializers

from licences.models import LicenceHolder


class LicenceHolderSerializer(serializers.ModelSerializer):
    class Meta:
        model = LicenceHolder
        fields = ["id", "name", "company_number", "address", "email", "phone", "language", "row_version", "created_at"]
        read_only_fields = ["id", "row_version", "created_at"]
