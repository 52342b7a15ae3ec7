from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from certification.models import AppendOnlyModel
from certification.tenancy import TenantModel
from certification.validators import validate_company_number


class LicenceHolder(TenantModel):
    """A manufacturer or supplier holding (or applying for) licences with one certification body."""

    name = models.CharField(max_length=200)
    company_number = models.CharField(
        max_length=20, validators=[validate_company_number],
        help_text=_("Belgian enterprise number or EU VAT number."),
    )
    address = models.TextField(blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    language = models.CharField(
        max_length=2, blank=True, choices=[("en", "English"), ("fr", "Français"), ("nl", "Nederlands")],
        help_text=_("Language of correspondence for the company's own address; blank: the language of the person "
                    "whose action sends the message."))
    internal_notes = models.TextField(blank=True, help_text=_("Staff only."))
    row_version = models.PositiveIntegerField(default=1, help_text=_("Optimistic concurrency: bumped on every change."))
    created_at = models.DateTimeField(auto_now_add=True)

    scope_paths = {"body": "body", "holder": "pk"}

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["body", "company_number"], name="holder_company_number_unique_per_body")
        ]

    def __str__(self):
        return self.name


class HolderMembership(TenantModel):
    """A portal user of a licence-holder: managers invite colleagues, contributors record results."""

    class Role(models.TextChoices):
        MANAGER = "manager", _("Manager")
        CONTRIBUTOR = "contributor", _("Contributor")

    holder = models.ForeignKey(LicenceHolder, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="holder_memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CONTRIBUTOR)
    is_active = models.BooleanField(default=True)

    scope_paths = {"body": "body", "holder": "holder"}

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user"], name="holder_membership_one_company_per_user")]

    def __str__(self):
        return f"{self.user} @ {self.holder}"


class Site(TenantModel):
    """A production site (plant, quarry, factory) of a licence-holder."""

    holder = models.ForeignKey(LicenceHolder, on_delete=models.PROTECT, related_name="sites")
    name = models.CharField(max_length=200)
    address = models.TextField(blank=True)

    scope_paths = {"body": "body", "holder": "holder"}

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.holder.name} — {self.name}"


class Product(TenantModel):
    """A product of a holder, made at one site, in one product category."""

    holder = models.ForeignKey(LicenceHolder, on_delete=models.PROTECT, related_name="products")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="products")
    category = models.ForeignKey("marks.ProductCategory", on_delete=models.PROTECT, related_name="+")
    commercial_name = models.CharField(max_length=200)
    technical_description = models.TextField(blank=True)
    declared_characteristics = models.JSONField(default=dict, blank=True)
    quick_code = models.CharField(
        max_length=8, unique=True, help_text=_("8-digit code printed on delivery notes for quick verification."))
    row_version = models.PositiveIntegerField(
        default=1, help_text=_("Optimistic concurrency: bumped on every edit; a form carries the one it showed."))

    scope_paths = {"body": "body", "holder": "holder"}

    class Meta:
        ordering = ["commercial_name"]

    def __str__(self):
        return self.commercial_name


class Licence(TenantModel):
    """The right to use a mark for products of one site, under one regulation version.

    Its state history (``LicenceStateChange``) answers "was this licence valid on date D?".
    """

    class State(models.TextChoices):
        ADMISSION = "admission", _("Admission (probation)")
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        RENOUNCED = "renounced", _("Renounced")
        EXPIRED = "expired", _("Expired")

    class Regime(models.TextChoices):
        ADMISSION = "admission", _("Admission")
        NORMAL = "normal", _("Normal")
        REINFORCED = "reinforced", _("Reinforced (under sanction)")

    VALID_STATES = {State.ACTIVE}

    holder = models.ForeignKey(LicenceHolder, on_delete=models.PROTECT, related_name="licences")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="licences")
    mark = models.ForeignKey("marks.Mark", on_delete=models.PROTECT, related_name="+")
    regulation_version = models.ForeignKey("marks.RegulationVersion", on_delete=models.PROTECT,
                                           related_name="licences")
    products = models.ManyToManyField(Product, related_name="licences", blank=True)
    number = models.CharField(max_length=40, help_text=_("Licence number, never reused."))
    state = models.CharField(max_length=20, choices=State.choices, default=State.ADMISSION)
    inspection_regime = models.CharField(
        max_length=20, choices=Regime.choices, default=Regime.ADMISSION,
        help_text=_("Drives the visit frequency taken from the regulation version; sanctions raise it."))
    granted_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    scope_paths = {"body": "body", "holder": "holder"}

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["body", "number"], name="licence_number_unique_per_body")]

    def __str__(self):
        return f"{self.number} ({self.mark.code.upper()})"

    def state_on(self, moment):
        """The state in force at ``moment`` (a datetime), from the recorded history; None before it existed."""
        change = self.history.filter(effective_from__lte=moment).order_by("-effective_from", "-id").first()
        return change.state if change else None


class LicenceStateChange(AppendOnlyModel):
    """One entry of a licence's state history; never edited, only appended."""

    licence = models.ForeignKey(Licence, on_delete=models.PROTECT, related_name="history")
    state = models.CharField(max_length=20, choices=Licence.State.choices)
    effective_from = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    reason = models.TextField(blank=True)

    scope_paths = {"body": "body", "holder": "licence__holder"}

    class Meta:
        ordering = ["effective_from", "id"]
        indexes = [models.Index(fields=["licence", "effective_from"])]

    def __str__(self):
        return f"{self.licence.number}: {self.state} from {self.effective_from:%Y-%m-%d}"


class LicenceExpiryNotice(TenantModel):
    """A notice sent to the holder ahead of a licence's expiry: one per threshold (e.g. 90, 30 days) and expiry date."""

    licence = models.ForeignKey(Licence, on_delete=models.PROTECT, related_name="expiry_notices")
    expires_on = models.DateField(help_text=_("The expiry date the notice announced."))
    threshold_days = models.PositiveSmallIntegerField()
    days_left = models.IntegerField()
    sent_at = models.DateTimeField(auto_now_add=True)
    recipients = models.JSONField(default=list, blank=True)

    scope_paths = {"body": "body", "holder": "licence__holder"}

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["licence", "expires_on", "threshold_days"],
                                    name="licence_expiry_notice_once_per_threshold"),
        ]

    def __str__(self):
        return f"{self.licence.number}: expires {self.expires_on} ({self.threshold_days}-day notice)"


class Application(TenantModel):
    """A supplier's request for certification of products of one site under one mark.

    draft → submitted → information pack sent → under review → admission → granted | refused;
    withdrawn from any state before the decision.
    """

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        PACK_SENT = "pack_sent", _("Information pack sent")
        UNDER_REVIEW = "under_review", _("Under review")
        ADMISSION = "admission", _("Admission period")
        GRANTED = "granted", _("Granted")
        REFUSED = "refused", _("Refused")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class Confirmation(models.TextChoices):
        NONE = "", _("Not yet")
        SIGNED_COPY = "signed_copy", _("Signed copy uploaded")
        ELECTRONIC = "electronic", _("Electronic confirmation")

    OPEN_STATES = {State.DRAFT, State.SUBMITTED, State.PACK_SENT, State.UNDER_REVIEW, State.ADMISSION}

    holder = models.ForeignKey(LicenceHolder, on_delete=models.PROTECT, related_name="applications")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="applications")
    mark = models.ForeignKey("marks.Mark", on_delete=models.PROTECT, related_name="+")
    regulation_version = models.ForeignKey("marks.RegulationVersion", on_delete=models.PROTECT, related_name="+")
    products = models.ManyToManyField(Product, related_name="applications", blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.DRAFT)
    applicant_remarks = models.TextField(blank=True)
    staff_notes = models.TextField(blank=True, help_text=_("Staff only."))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    pack = models.FileField(upload_to="information-packs/", blank=True)
    pack_sha256 = models.CharField(max_length=64, blank=True)
    pack_sent_at = models.DateTimeField(null=True, blank=True)
    confirmation = models.CharField(max_length=20, choices=Confirmation.choices, blank=True, default="")
    signed_copy = models.FileField(upload_to="signed-applications/", blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    licence = models.OneToOneField(Licence, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="application")
    closed_at = models.DateTimeField(null=True, blank=True)
    row_version = models.PositiveIntegerField(default=1)

    scope_paths = {"body": "body", "holder": "holder"}

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Application {self.pk} — {self.holder.name} ({self.mark.code.upper()})"

    @property
    def reference(self):
        return f"APP-{self.pk:06d}"


class Decision(TenantModel):
    """A certification decision, taken by an officer who did not inspect the file (ISO/IEC 17065)."""

    class Kind(models.TextChoices):
        GRANT = "grant", _("Grant")
        EXTEND_SCOPE = "extend_scope", _("Extend scope")
        REDUCE_SCOPE = "reduce_scope", _("Reduce scope")
        SUSPEND = "suspend", _("Suspend")
        REINSTATE = "reinstate", _("Reinstate")
        WITHDRAW = "withdraw", _("Withdraw")
        REFUSE = "refuse", _("Refuse")
        RENEW = "renew", _("Renew (extend validity)")

    licence = models.ForeignKey(Licence, on_delete=models.PROTECT, related_name="decisions")
    application = models.ForeignKey(Application, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="decisions")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(auto_now_add=True)
    effective_from = models.DateTimeField()
    reason = models.TextField()
    products_added = models.JSONField(default=list, blank=True)
    products_removed = models.JSONField(default=list, blank=True)
    resulting_state = models.CharField(max_length=20, choices=Licence.State.choices)

    scope_paths = {"body": "body", "holder": "licence__holder"}

    class Meta:
        ordering = ["-decided_at", "-id"]

    def __str__(self):
        return f"{self.get_kind_display()} — {self.licence.number}"


class Sanction(TenantModel):
    """A sanction on a licence, with its effect on the inspection regime and the public status."""

    class Kind(models.TextChoices):
        WARNING = "warning", _("Warning")
        REINFORCED = "reinforced_inspection", _("Reinforced inspection")
        SUSPENSION = "suspension", _("Suspension")
        WITHDRAWAL = "withdrawal", _("Withdrawal")

    licence = models.ForeignKey(Licence, on_delete=models.PROTECT, related_name="sanctions")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    reason = models.TextField()
    imposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    imposed_at = models.DateTimeField(auto_now_add=True)
    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, null=True, blank=True, related_name="sanctions")
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    previous_regime = models.CharField(max_length=20, choices=Licence.Regime.choices, blank=True)

    scope_paths = {"body": "body", "holder": "licence__holder"}

    class Meta:
        ordering = ["-starts_on", "-id"]

    def __str__(self):
        return f"{self.get_kind_display()} — {self.licence.number} from {self.starts_on}"

    @property
    def is_open(self):
        return self.lifted_at is None


class Appeal(TenantModel):
    """An appeal against a decision: lodged before a deadline, heard by a committee excluding the decider."""

    class Outcome(models.TextChoices):
        PENDING = "pending", _("Pending")
        UPHELD = "upheld", _("Upheld (decision overturned)")
        DISMISSED = "dismissed", _("Dismissed (decision confirmed)")
        WITHDRAWN = "withdrawn", _("Withdrawn by the appellant")

    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, related_name="appeals")
    lodged_on = models.DateField()
    deadline = models.DateField(help_text=_("Last day the appeal could be lodged."))
    grounds = models.TextField()
    committee = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.PENDING)
    outcome_reason = models.TextField(blank=True)
    decided_on = models.DateField(null=True, blank=True)

    scope_paths = {"body": "body", "holder": "decision__licence__holder"}

    class Meta:
        ordering = ["-lodged_on", "-id"]

    def __str__(self):
        return f"Appeal against {self.decision}"


class NumberSequence(TenantModel):
    """A counter per body and key (e.g. ``certificate:benor``): numbers are handed out once, never again."""

    key = models.CharField(max_length=60)
    last_value = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["body", "key"], name="number_sequence_unique")]

    def __str__(self):
        return f"{self.key}: {self.last_value}"


class Certificate(TenantModel):
    """One version of the certificate of a licence. Issued once, never edited; a re-issue supersedes it."""

    class RenderStatus(models.TextChoices):
        PENDING = "pending", _("Pending")
        RENDERED = "rendered", _("Rendered")
        FAILED = "failed", _("Failed")

    class Language(models.TextChoices):
        EN = "en", "English"
        FR = "fr", "Français"
        NL = "nl", "Nederlands"

    licence = models.ForeignKey(Licence, on_delete=models.PROTECT, related_name="certificates")
    number = models.CharField(max_length=60, help_text=_("Base number, e.g. COPRO-BENOR-000123."))
    version = models.PositiveIntegerField(default=1)
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.EN)
    content = models.JSONField(help_text=_("What the certificate states, frozen at issue."))
    issued_at = models.DateTimeField()
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    valid_until = models.DateField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    superseded_by = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                         related_name="supersedes")
    render_status = models.CharField(max_length=20, choices=RenderStatus.choices, default=RenderStatus.PENDING)
    render_requested_at = models.DateTimeField(null=True, blank=True)
    render_attempts = models.PositiveIntegerField(default=0)
    render_error = models.TextField(blank=True)
    pdf = models.FileField(upload_to="certificates/", blank=True)
    sha256 = models.CharField(max_length=64, blank=True)

    scope_paths = {"body": "body", "holder": "licence__holder"}

    class Meta:
        ordering = ["number", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["body", "number", "version"], name="certificate_number_version_unique"),
        ]
        indexes = [models.Index(fields=["render_status", "render_requested_at"])]

    def __str__(self):
        return self.full_number

    @property
    def full_number(self):
        return self.number if self.version == 1 else f"{self.number}-v{self.version}"

    @property
    def is_current(self):
        return self.superseded_at is None

    def delete(self, *args, **kwargs):
        raise CertificateDeletionRefused(f"Certificate {self.full_number} is kept forever; re-issue it instead.")


class CertificateDeletionRefused(Exception):
    pass
