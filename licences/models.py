from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

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
    internal_notes = models.TextField(blank=True, help_text=_("Staff only."))
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


class LicenceStateChange(TenantModel):
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
