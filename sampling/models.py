from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from guardian.models import UserObjectPermissionBase

from certification.models import AppendOnlyModel
from certification.tenancy import TenantModel


class Laboratory(TenantModel):
    """A laboratory recognised by the body for testing samples."""

    name = models.CharField(max_length=200)
    accreditation = models.CharField(max_length=200, blank=True)
    address = models.TextField(blank=True)
    email = models.EmailField(blank=True)
    accreditation_valid_until = models.DateField(null=True, blank=True)
    test_methods = models.ManyToManyField(
        "marks.ReferenceDocument", blank=True, related_name="laboratories",
        help_text=_("Accreditation scope: the test methods the laboratory is recognised for."))

    scope_paths = {"body": "body", "laboratory": "pk"}

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "laboratories"
        constraints = [models.UniqueConstraint(fields=["body", "name"], name="laboratory_name_unique_per_body")]

    def __str__(self):
        return self.name


class LaboratoryMembership(TenantModel):
    laboratory = models.ForeignKey(Laboratory, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lab_memberships")
    is_active = models.BooleanField(default=True)

    scope_paths = {"body": "body", "laboratory": "laboratory"}

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user"], name="lab_membership_one_lab_per_user")]

    def __str__(self):
        return f"{self.user} @ {self.laboratory}"


class Sample(TenantModel):
    """A sample taken by an inspector during a visit, sealed, labelled and sent to a laboratory."""

    class State(models.TextChoices):
        TAKEN = "taken", _("Taken")
        DISPATCHED = "dispatched", _("Dispatched")
        RECEIVED = "received", _("Received")
        TESTED = "tested", _("Tested")
        REPORTED = "reported", _("Reported")

    ORDER = [State.TAKEN, State.DISPATCHED, State.RECEIVED, State.TESTED, State.REPORTED]

    code = models.CharField(max_length=40, help_text=_("Printed on the label; never reused."))
    visit = models.ForeignKey("inspections.Visit", on_delete=models.PROTECT, related_name="samples")
    licence = models.ForeignKey("licences.Licence", on_delete=models.PROTECT, related_name="samples")
    product = models.ForeignKey("licences.Product", on_delete=models.PROTECT, related_name="samples")
    laboratory = models.ForeignKey(Laboratory, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="samples")
    requirements = models.ManyToManyField("marks.Requirement", blank=True, related_name="+",
                                          help_text=_("Properties the laboratory is asked to test."))
    seal_number = models.CharField(max_length=60)
    quantity = models.CharField(max_length=60, help_text=_("e.g. 2 × 25 kg"))
    production_date = models.DateField(null=True, blank=True)
    batch = models.CharField(max_length=60, blank=True)
    inspector_notes = models.TextField(blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.TAKEN)
    taken_at = models.DateTimeField()
    taken_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    row_version = models.PositiveIntegerField(default=1)

    scope_paths = {"body": "body", "holder": "licence__holder", "laboratory": "laboratory"}

    class Meta:
        ordering = ["-taken_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["body", "code"], name="sample_code_unique_per_body")]
        permissions = [("test_sample", "Can receive, test and report on the sample")]

    def __str__(self):
        return self.code

    def next_state(self):
        index = self.ORDER.index(self.state)
        return self.ORDER[index + 1] if index + 1 < len(self.ORDER) else None


class SampleRequest(TenantModel):
    """Staff asked for a counter-test or an extra sample of a licensed product (accepted escalation).

    It is open until the next sample of that product is taken on a visit of the licence.
    """

    class Kind(models.TextChoices):
        COUNTER_TEST = "counter_test", _("Counter-test")
        EXTRA_SAMPLE = "extra_sample", _("Extra sample")

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        FULFILLED = "fulfilled", _("Fulfilled")

    licence = models.ForeignKey("licences.Licence", on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey("licences.Product", on_delete=models.PROTECT, related_name="+")
    requirements = models.ManyToManyField("marks.Requirement", blank=True, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    origin_sample = models.ForeignKey(Sample, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                      help_text=_("The sample whose result is challenged (counter-test)."))
    reason = models.TextField()
    state = models.CharField(max_length=20, choices=State.choices, default=State.OPEN)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    fulfilled_by = models.ForeignKey(Sample, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    fulfilled_at = models.DateTimeField(null=True, blank=True)

    scope_paths = {"body": "body", "holder": "licence__holder"}

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.product} ({self.get_state_display()})"


class SampleUserObjectPermission(UserObjectPermissionBase):
    """Direct foreign-key object grant (django-guardian) of a lab user on a sample."""

    content_object = models.ForeignKey(Sample, on_delete=models.CASCADE)


class CustodyEvent(AppendOnlyModel):
    """One step of a sample's chain of custody, timestamped, with who: append-only."""

    sample = models.ForeignKey(Sample, on_delete=models.PROTECT, related_name="custody")
    step = models.CharField(max_length=20, choices=Sample.State.choices)
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    laboratory = models.ForeignKey(Laboratory, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    note = models.TextField(blank=True)

    scope_paths = {"body": "body", "holder": "sample__licence__holder", "laboratory": "sample__laboratory"}

    class Meta:
        ordering = ["at", "id"]
        constraints = [models.UniqueConstraint(fields=["sample", "step"], name="custody_one_event_per_step")]

    def __str__(self):
        return f"{self.sample.code}: {self.step}"


class LabResult(AppendOnlyModel):
    """A test result entered by the laboratory. A correction is a new row that supersedes this one."""

    class Source(models.TextChoices):
        PORTAL = "portal", _("Lab portal")
        API = "api", _("API")

    sample = models.ForeignKey(Sample, on_delete=models.PROTECT, related_name="results")
    requirement = models.ForeignKey("marks.Requirement", on_delete=models.PROTECT, related_name="+")
    property_code = models.SlugField(max_length=60)
    method = models.ForeignKey("marks.ReferenceDocument", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+")
    value = models.DecimalField(max_digits=14, decimal_places=4)
    unit = models.CharField(max_length=30, blank=True)
    uncertainty = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True,
                                      help_text=_("Expanded measurement uncertainty, same unit."))
    tested_on = models.DateField()
    supersedes = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="superseded_by")
    correction_reason = models.TextField(blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.PORTAL)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    entered_at = models.DateTimeField(auto_now_add=True)

    scope_paths = {"body": "body", "holder": "sample__licence__holder", "laboratory": "sample__laboratory"}

    class Meta:
        ordering = ["sample", "property_code", "id"]

    def __str__(self):
        return f"{self.sample.code} {self.property_code} = {self.value} {self.unit}"


class SelfMonitoringImport(TenantModel):
    """One accepted CSV upload (a rejected upload leaves nothing behind)."""

    holder = models.ForeignKey("licences.LicenceHolder", on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(max_length=200)
    rows = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    scope_paths = {"body": "body", "holder": "holder"}

    class Meta:
        ordering = ["-uploaded_at", "-id"]

    def __str__(self):
        return f"{self.filename} ({self.rows} rows)"


class SelfMonitoringResult(TenantModel):
    """A licence-holder's internal (factory production control) test result."""

    class Source(models.TextChoices):
        PORTAL = "portal", _("Portal")
        CSV = "csv", _("CSV upload")
        API = "api", _("API")

    holder = models.ForeignKey("licences.LicenceHolder", on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey("licences.Product", on_delete=models.PROTECT, related_name="self_monitoring")
    requirement = models.ForeignKey("marks.Requirement", on_delete=models.PROTECT, related_name="+")
    property_code = models.SlugField(max_length=60)
    tested_on = models.DateField()
    batch = models.CharField(max_length=60, blank=True)
    tonnage = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True,
                                  help_text=_("Tonnes produced in the batch/lot this result covers."))
    value = models.DecimalField(max_digits=14, decimal_places=4)
    unit = models.CharField(max_length=30, blank=True)
    within_limits = models.BooleanField(default=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.PORTAL)
    imported_from = models.ForeignKey(SelfMonitoringImport, on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="results")
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    entered_at = models.DateTimeField(auto_now_add=True)

    scope_paths = {"body": "body", "holder": "holder"}

    class Meta:
        ordering = ["tested_on", "id"]
        indexes = [models.Index(fields=["body", "product", "property_code", "tested_on"])]

    def __str__(self):
        return f"{self.product} {self.property_code} {self.tested_on}: {self.value}"


class ConformityOutcome(TenantModel):
    """The result of one conformity evaluation, with the escalation proposed to staff and their decision."""

    class Kind(models.TextChoices):
        LAB_INDIVIDUAL = "lab_individual", _("External lab result against the limits")
        COMPARISON = "comparison", _("External result vs. holder's own results")
        SELF_MONITORING = "self_monitoring", _("Self-monitoring results against the rule")
        FREQUENCY = "frequency", _("Self-monitoring frequency")

    class Verdict(models.TextChoices):
        PASS = "pass", _("Conforms")
        FAIL = "fail", _("Does not conform")
        INSUFFICIENT = "insufficient", _("Not enough data")

    class Escalation(models.TextChoices):
        NONE = "", _("None")
        COUNTER_TEST = "counter_test", _("Counter-test")
        EXTRA_SAMPLE = "extra_sample", _("Extra sample")
        WARNING = "warning", _("Warning")
        REINFORCED_INSPECTION = "reinforced_inspection", _("Reinforced inspection")

    class Status(models.TextChoices):
        NO_ACTION = "no_action", _("No action needed")
        PROPOSED = "proposed", _("Proposed to staff")
        ACCEPTED = "accepted", _("Accepted")
        DISMISSED = "dismissed", _("Dismissed")

    holder = models.ForeignKey("licences.LicenceHolder", on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey("licences.Product", on_delete=models.PROTECT, related_name="+")
    requirement = models.ForeignKey("marks.Requirement", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    rule = models.CharField(max_length=30)
    sample = models.ForeignKey(Sample, on_delete=models.PROTECT, null=True, blank=True, related_name="outcomes")
    lab_result = models.ForeignKey(LabResult, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    level = models.CharField(max_length=10, blank=True, help_text=_("EN 13108-21 operating compliance level."))
    details = models.JSONField(default=dict, blank=True)
    summary = models.TextField(blank=True)
    proposed_escalation = models.CharField(max_length=30, choices=Escalation.choices, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NO_ACTION)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    evaluated_at = models.DateTimeField(auto_now_add=True)
    # What a failure raised, and what accepting the escalation did (each through the owning app's service).
    finding = models.ForeignKey("inspections.Finding", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")
    sample_request = models.ForeignKey("SampleRequest", on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="outcomes")
    planned_visit = models.ForeignKey("inspections.Visit", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+")
    sanction = models.ForeignKey("licences.Sanction", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+")

    scope_paths = {"body": "body", "holder": "holder"}

    class Meta:
        ordering = ["-evaluated_at", "-id"]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.product} {self.requirement.property_code} — {self.verdict}"


class SelfMonitoringReview(TenantModel):
    """The monthly check of one product's self-monitoring against the regulation's frequencies: which
    properties had fewer tests than the production required. One per product and period (the beat job runs
    daily and finds the month already reviewed)."""

    holder = models.ForeignKey("licences.LicenceHolder", on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey("licences.Product", on_delete=models.PROTECT, related_name="self_monitoring_reviews")
    licence = models.ForeignKey("licences.Licence", on_delete=models.PROTECT, related_name="+")
    period_start = models.DateField()
    period_end = models.DateField()
    missing = models.JSONField(default=list, help_text=_("Properties with missing tests: code, expected, recorded."))
    finding = models.ForeignKey("inspections.Finding", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    scope_paths = {"body": "body", "holder": "holder"}

    class Meta:
        ordering = ["-period_start", "product_id"]
        constraints = [models.UniqueConstraint(fields=["product", "period_start", "period_end"],
                                               name="self_monitoring_review_once_per_period")]

    def __str__(self):
        return f"{self.product} {self.period_start:%Y-%m}"
