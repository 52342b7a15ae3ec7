"""Serializers of the visits API. Writes go through inspections.services (the view calls them)."""

from rest_framework import serializers

from certification.models import Membership, Role, User
from inspections.models import Finding, Visit
from licences.models import Licence


class FindingSerializer(serializers.ModelSerializer):
    checklist_item = serializers.CharField(source="checklist_item.code", allow_null=True, read_only=True,
                                           help_text="Code of the checklist item, if the finding is tied to one.")

    class Meta:
        model = Finding
        fields = ["id", "severity", "description", "state", "checklist_item", "action_due", "created_at"]
        read_only_fields = fields


def body_inspectors():
    """Users with an active inspector membership of the caller's body (scoped when the query runs)."""
    return User.objects.filter(memberships__in=Membership.objects.filter(role=Role.INSPECTOR, is_active=True))


class VisitSerializer(serializers.ModelSerializer):
    """A visit as listed: no nested data."""

    licence_number = serializers.CharField(source="licence.number", read_only=True)
    holder = serializers.IntegerField(source="licence.holder_id", read_only=True, help_text="Licence-holder id.")
    holder_name = serializers.CharField(source="licence.holder.name", read_only=True)
    site_name = serializers.CharField(source="site.name", read_only=True)
    inspector_email = serializers.EmailField(source="inspector.email", read_only=True, allow_null=True)

    class Meta:
        model = Visit
        fields = ["id", "licence", "licence_number", "holder", "holder_name", "site", "site_name", "kind", "state",
                  "announced", "planned_for", "inspector", "inspector_email", "overdue", "plan_year", "row_version",
                  "created_at", "started_at", "submitted_at", "reviewed_at", "closed_at", "cancelled_at",
                  "report_number"]
        read_only_fields = fields


class VisitDetailSerializer(VisitSerializer):
    """One visit with its findings (read-only)."""

    findings = FindingSerializer(many=True, read_only=True)

    class Meta(VisitSerializer.Meta):
        fields = [*VisitSerializer.Meta.fields, "general_remarks", "findings"]
        read_only_fields = fields


class VisitCreateSerializer(VisitDetailSerializer):
    """Plan a visit for a licence (outside the annual plan), optionally assigned at once."""

    licence = serializers.PrimaryKeyRelatedField(queryset=Licence.objects.all())
    kind = serializers.ChoiceField(choices=Visit.Kind.choices)
    planned_for = serializers.DateField()
    announced = serializers.BooleanField(required=False, default=True,
                                         help_text="Ignored for unannounced visits (always false).")
    inspector = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.none(), required=False, allow_null=True,
        help_text="User id of an inspector of the body: must be qualified for the licence's product categories "
                  "on the planned day and have no conflict of interest with the holder.")
    reason = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=500,
                                   help_text="Why (kept in the audit trail).")

    class Meta(VisitDetailSerializer.Meta):
        fields = [*VisitDetailSerializer.Meta.fields, "reason"]
        read_only_fields = [f for f in VisitDetailSerializer.Meta.fields
                            if f not in ("licence", "kind", "planned_for", "announced", "inspector")]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["inspector"].queryset = body_inspectors()


class VisitUpdateSerializer(VisitDetailSerializer):
    """Reschedule (``planned_for``) and/or assign or reassign (``inspector``) a visit not yet started."""

    planned_for = serializers.DateField(required=False)
    inspector = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.none(), required=False, allow_null=True,
        help_text="User id of the inspector to assign (or reassign to): qualified on the planned day, no conflict "
                  "of interest with the holder. Object rights move with the visit. Cannot be emptied: cancel "
                  "the visit or reassign it.")
    reason = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=500,
                                   help_text="Why (kept in the audit trail).")

    class Meta(VisitDetailSerializer.Meta):
        fields = [*VisitDetailSerializer.Meta.fields, "reason"]
        read_only_fields = [f for f in VisitDetailSerializer.Meta.fields if f not in ("planned_for", "inspector")]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["inspector"].queryset = body_inspectors()

    def validate_inspector(self, value):
        if value is None:
            raise serializers.ValidationError("A visit cannot be unassigned: reassign it or cancel it.")
        return value


class VisitCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text="Why the visit is cancelled (audit trail).")
