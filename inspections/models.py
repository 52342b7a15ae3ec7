import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from certification.tenancy import TenantModel


class Visit(TenantModel):
    """An inspection visit at a licence-holder's site for one licence."""

    class Kind(models.TextChoices):
        INITIAL = "initial", _("Initial")
        PERIODIC = "periodic", _("Periodic")
        REINFORCED = "reinforced", _("Reinforced")
        UNANNOUNCED = "unannounced", _("Unannounced")
        FOLLOW_UP = "follow_up", _("Follow-up")
        COMPLAINT = "complaint", _("Complaint")

    class State(models.TextChoices):
        PLANNED = "planned", _("Planned")
        ASSIGNED = "assigned", _("Assigned")
        IN_PROGRESS = "in_progress", _("In progress")
        SUBMITTED = "submitted", _("Submitted")
        REVIEWED = "reviewed", _("Reviewed")
        CLOSED = "closed", _("Closed")
        CANCELLED = "cancelled", _("Cancelled")

    licence = models.ForeignKey("licences.Licence", on_delete=models.PROTECT, related_name="visits")
    site = models.ForeignKey("licences.Site", on_delete=models.PROTECT, related_name="visits")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PERIODIC)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PLANNED)
    announced = models.BooleanField(default=True)
    planned_for = models.DateField()
    inspector = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="visits")
    started_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    row_version = models.PositiveIntegerField(default=1, help_text=_("Optimistic concurrency: bumped on every change."))
    created_at = models.DateTimeField(auto_now_add=True)
    # Planning (idempotent re-planning: one row per licence, plan year and rank).
    plan_year = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Year of the annual plan that created this visit (empty: created by hand)."))
    plan_seq = models.PositiveIntegerField(null=True, blank=True, help_text=_("Rank within the licence's plan."))
    overdue = models.BooleanField(default=False, help_text=_("Flagged by the overdue job."))
    reviewed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Filled by the inspector on site.
    general_remarks = models.TextField(blank=True)
    signature = models.FileField(upload_to="inspections/signatures/", blank=True)
    signed_by_name = models.CharField(max_length=200, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    # Report issued at review; the holder may comment until comment_deadline (5 working days).
    report_number = models.CharField(max_length=40, blank=True)
    report_pdf = models.FileField(upload_to="inspections/reports/", blank=True)
    report_sha256 = models.CharField(max_length=64, blank=True)
    report_issued_at = models.DateTimeField(null=True, blank=True)
    comment_deadline = models.DateField(null=True, blank=True)

    scope_paths = {"body": "body", "holder": "licence__holder"}

    class Meta:
        ordering = ["planned_for", "id"]
        indexes = [models.Index(fields=["body", "state", "planned_for"])]
        constraints = [
            models.UniqueConstraint(fields=["body", "licence", "plan_year", "plan_seq"],
                                    condition=models.Q(plan_year__isnull=False), name="visit_plan_slot_unique"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} visit {self.planned_for:%Y-%m-%d} — {self.licence.number}"


class VisitUserObjectPermission(UserObjectPermissionBase):
    """Direct foreign-key guardian grant: an inspector's rights on one visit assigned to them."""

    content_object = models.ForeignKey(Visit, on_delete=models.CASCADE)


class VisitGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Visit, on_delete=models.CASCADE)


class InspectorProfile(TenantModel):
    """A staff member with the inspector role, as the planner sees them."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="inspector_profiles")
    is_active = models.BooleanField(default=True)
    capacity_per_year = models.PositiveIntegerField(default=200, help_text=_("Visits a year this inspector can take."))
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["user__email"]
        constraints = [models.UniqueConstraint(fields=["body", "user"], name="inspector_profile_one_per_body")]

    def __str__(self):
        return str(self.user)


class Qualification(TenantModel):
    """An inspector is qualified for one product category between two dates."""

    profile = models.ForeignKey(InspectorProfile, on_delete=models.CASCADE, related_name="qualifications")
    category = models.ForeignKey("marks.ProductCategory", on_delete=models.PROTECT, related_name="+")
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["category__code", "valid_from"]

    def __str__(self):
        return f"{self.profile} — {self.category}"

    def valid_on(self, day):
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


class ConflictOfInterest(TenantModel):
    """An inspector's declaration of a conflict with a licence-holder (former employer, family…)."""

    profile = models.ForeignKey(InspectorProfile, on_delete=models.CASCADE, related_name="conflicts")
    holder = models.ForeignKey("licences.LicenceHolder", on_delete=models.PROTECT, related_name="+")
    declared_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True, help_text=_("Empty: still in force."))
    reason = models.TextField()

    class Meta:
        ordering = ["-declared_on"]

    def __str__(self):
        return f"{self.profile} × {self.holder}"


class ChecklistResult(TenantModel):
    class Result(models.TextChoices):
        COMPLIANT = "compliant", _("Compliant")
        NON_COMPLIANT = "non_compliant", _("Non-compliant")
        NOT_APPLICABLE = "not_applicable", _("Not applicable")

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="checklist_results")
    item = models.ForeignKey("marks.ChecklistItem", on_delete=models.PROTECT, related_name="+")
    result = models.CharField(max_length=20, choices=Result.choices)
    remark = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_paths = {"body": "body", "holder": "visit__licence__holder"}

    class Meta:
        ordering = ["item__order", "item__code"]
        constraints = [models.UniqueConstraint(fields=["visit", "item"], name="checklist_result_one_per_item")]


class Finding(TenantModel):
    """A non-conformity found at a visit; the holder answers it with a corrective action."""

    class Severity(models.TextChoices):
        MINOR = "minor", _("Minor")
        MAJOR = "major", _("Major")

    class State(models.TextChoices):
        OPEN = "open", _("Open: corrective action awaited")
        PROPOSED = "proposed", _("Corrective action proposed")
        ACCEPTED = "accepted", _("Corrective action accepted, to verify")
        VERIFIED = "verified", _("Verified and closed")

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="findings")
    checklist_item = models.ForeignKey("marks.ChecklistItem", on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="+")
    severity = models.CharField(max_length=10, choices=Severity.choices)
    description = models.TextField()
    state = models.CharField(max_length=20, choices=State.choices, default=State.OPEN)
    action_due = models.DateField(null=True, blank=True, help_text=_("Corrective action due by."))
    escalated_at = models.DateTimeField(null=True, blank=True, help_text=_("Flagged to staff as overdue."))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    scope_paths = {"body": "body", "holder": "visit__licence__holder"}

    class Meta:
        ordering = ["visit", "id"]

    def __str__(self):
        return f"{self.get_severity_display()}: {self.description[:60]}"


class CorrectiveAction(TenantModel):
    class State(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")
        VERIFIED = "verified", _("Verified")

    class Verification(models.TextChoices):
        NEXT_VISIT = "next_visit", _("At the next visit")
        DOCUMENTS = "documents", _("By documents")

    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="actions")
    description = models.TextField()
    planned_by = models.DateField(help_text=_("Date by which the holder will have implemented it."))
    state = models.CharField(max_length=20, choices=State.choices, default=State.PROPOSED)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    verification = models.CharField(max_length=20, choices=Verification.choices, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_in_visit = models.ForeignKey(Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    scope_paths = {"body": "body", "holder": "finding__visit__licence__holder"}

    class Meta:
        ordering = ["finding", "-proposed_at"]


class Photo(TenantModel):
    """A photo taken at a visit, uploaded in chunks (resumable); complete once all bytes arrived and checked."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="photos")
    upload_id = models.UUIDField(default=uuid.uuid4, unique=True)
    filename = models.CharField(max_length=200)
    size = models.PositiveIntegerField(help_text=_("Announced total size in bytes."))
    received = models.PositiveIntegerField(default=0)
    content_type = models.CharField(max_length=40, blank=True)
    caption = models.CharField(max_length=300, blank=True)
    file = models.FileField(upload_to="inspections/photos/", blank=True)
    complete = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    scope_paths = {"body": "body", "holder": "visit__licence__holder"}

    class Meta:
        ordering = ["created_at", "id"]


class IdempotencyRecord(TenantModel):
    """The stored answer to one inspector submission: a replay with the same key gets it back, creates nothing."""

    key = models.UUIDField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=40)
    status = models.PositiveSmallIntegerField()
    response = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["body", "key"], name="idempotency_key_unique")]


class ReportComment(TenantModel):
    """The holder's comment on a visit report, within 5 working days of its issue."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="report_comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    scope_paths = {"body": "body", "holder": "visit__licence__holder"}

    class Meta:
        ordering = ["created_at"]
