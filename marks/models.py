from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from certification.tenancy import TenantModel


class PublishedVersionImmutable(ValidationError):
    """A published or superseded regulation version (or its content) was about to change."""


def _stored_status(version_id):
    if version_id is None:
        return None
    return RegulationVersion._base_manager.filter(pk=version_id).values_list("status", flat=True).first()


class Mark(models.Model):
    """A quality mark or technical approval (BENOR, COPRO, ATG): global reference data."""

    class Kind(models.TextChoices):
        QUALITY_MARK = "quality_mark", _("Quality mark")
        TECHNICAL_APPROVAL = "technical_approval", _("Technical approval")

    code = models.SlugField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=30, choices=Kind.choices)
    owner_organisation = models.CharField(max_length=200)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.name


class ProductCategory(models.Model):
    """A product category, as a tree, named in English, French and Dutch: global reference data."""

    code = models.SlugField(max_length=40, unique=True)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    name_en = models.CharField(max_length=200)
    name_fr = models.CharField(max_length=200)
    name_nl = models.CharField(max_length=200)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "product categories"

    def __str__(self):
        return self.name

    @property
    def name(self):
        return getattr(self, f"name_{(get_language() or 'en')[:2]}", None) or self.name_en


class Mandate(TenantModel):
    """Which body manages which mark for which product categories; a body certifies only under one."""

    mark = models.ForeignKey(Mark, on_delete=models.PROTECT, related_name="mandates")
    categories = models.ManyToManyField(ProductCategory, related_name="mandates", blank=True)
    granted_by = models.CharField(max_length=200, help_text=_("e.g. BENOR asbl, UBAtc"))
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["mark__code"]
        constraints = [models.UniqueConstraint(fields=["body", "mark"], name="mandate_one_per_body_mark")]

    def __str__(self):
        return f"{self.mark} ({self.granted_by})"


class ReferenceDocument(models.Model):
    """A standard, technical specification or ATG approval notice: global reference data."""

    class Kind(models.TextChoices):
        STANDARD = "standard", _("Standard")
        TECHNICAL_SPECIFICATION = "technical_specification", _("Technical specification")
        APPROVAL_NOTICE = "approval_notice", _("Approval notice (ATG)")
        OTHER = "other", _("Other")

    code = models.CharField(max_length=80, unique=True, help_text=_("e.g. EN 13108-1:2016, PTV 411, ATG 3123"))
    title = models.CharField(max_length=300)
    kind = models.CharField(max_length=30, choices=Kind.choices, default=Kind.STANDARD)
    issuer = models.CharField(max_length=100, blank=True, help_text=_("CEN, NBN, UBAtc…"))
    valid_from = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.code


class Regulation(TenantModel):
    """An implementation regulation (TRA) written by a sector committee; its content lives in versions."""

    code = models.CharField(max_length=40, help_text=_("e.g. TRA 14"))
    title = models.CharField(max_length=300)
    mark = models.ForeignKey(Mark, on_delete=models.PROTECT, related_name="regulations")
    categories = models.ManyToManyField(ProductCategory, related_name="regulations")
    sector_committee = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["body", "code"], name="regulation_code_unique_per_body")]

    def __str__(self):
        return f"{self.code} — {self.title}"


class RegulationVersion(TenantModel):
    """One version of a regulation. Published versions are immutable; a new one is drafted from the last."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        SUPERSEDED = "superseded", _("Superseded")

    regulation = models.ForeignKey(Regulation, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    previous = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    effective_date = models.DateField(null=True, blank=True)
    transition_end = models.DateField(
        null=True, blank=True, help_text=_("Until this date, licences may stay on the previous version."))
    document = models.FileField(upload_to="regulations/", blank=True)
    reference_documents = models.ManyToManyField(ReferenceDocument, blank=True, related_name="regulation_versions")
    visits_per_year_admission = models.DecimalField(max_digits=4, decimal_places=1, default=0)
    visits_per_year_normal = models.DecimalField(max_digits=4, decimal_places=1, default=0)
    visits_per_year_reinforced = models.DecimalField(max_digits=4, decimal_places=1, default=0)
    unannounced_share = models.DecimalField(
        max_digits=3, decimal_places=2, default=0, help_text=_("Share of visits made unannounced, 0 to 1."))
    samples_per_year = models.PositiveIntegerField(default=0)
    changes_summary = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    row_version = models.PositiveIntegerField(
        default=1, help_text=_("Bumped on every edit of the draft; a stale edit (older row version) is refused."))

    # The only change a published version may still undergo: being superseded by a newer one.
    ALLOWED_TRANSITIONS = {("published", "superseded")}

    class Meta:
        ordering = ["regulation__code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["body", "regulation", "version"], name="regulation_version_unique"),
            models.UniqueConstraint(fields=["regulation"], condition=models.Q(status="draft"),
                                    name="regulation_one_draft"),
        ]

    def __str__(self):
        return f"{self.regulation.code} v{self.version}"

    @property
    def is_draft(self):
        return self.status == self.Status.DRAFT

    def save(self, *args, **kwargs):
        self._refuse_change_if_published()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if _stored_status(self.pk) not in (None, self.Status.DRAFT):
            raise PublishedVersionImmutable(_("A published regulation version cannot be deleted."))
        return super().delete(*args, **kwargs)

    def _refuse_change_if_published(self):
        """Published and superseded versions are immutable; publish → supersede is the one allowed step."""
        if self.pk is None:
            return
        stored = RegulationVersion._base_manager.filter(pk=self.pk).first()
        if stored is None or stored.status == self.Status.DRAFT:
            return
        changed = [
            f.attname for f in self._meta.concrete_fields
            if f.attname != "status" and getattr(stored, f.attname) != getattr(self, f.attname)
        ]
        if changed or (stored.status != self.status
                       and (stored.status, self.status) not in self.ALLOWED_TRANSITIONS):
            raise PublishedVersionImmutable(
                _("Version %(v)s is %(status)s and cannot be changed; draft a new version instead.")
                % {"v": stored.version, "status": stored.get_status_display().lower()})


OUTPUT_LEVELS = ("X", "Y", "Z")


def parse_tonnes_per_test(text):
    """'600/1000/2000' → [600, 1000, 2000] (output levels X, Y, Z); '500' → [500, 500, 500]; '' → None.

    Raises ValueError when the text is not one or three positive numbers separated by '/'.
    """
    from decimal import Decimal, InvalidOperation

    text = (text or "").strip()
    if not text:
        return None
    parts = [p.strip().replace(",", ".") for p in text.split("/")]
    if len(parts) not in (1, len(OUTPUT_LEVELS)):
        raise ValueError(gettext("one number, or three separated by '/' (output levels X/Y/Z)"))
    try:
        numbers = [Decimal(p) for p in parts]
    except InvalidOperation:
        raise ValueError(gettext("not a number")) from None
    if any(not n.is_finite() or n <= 0 for n in numbers):
        raise ValueError(gettext("tonnes per test must be positive"))
    return numbers * 3 if len(numbers) == 1 else numbers


class Requirement(TenantModel):
    """What a regulation version says about one property: method, limits, frequencies, conformity rule."""

    class ConformityRule(models.TextChoices):
        INDIVIDUAL = "individual", _("Every result within the limits")
        EN_13108_21 = "en13108_21", _("EN 13108-21 compliance level (last 32 results)")
        EN_206 = "en206", _("EN 206 mean and individual criteria")
        DECLARED_VALUE = "declared_value", _("Declared value ± tolerance")

    class FrequencyBasis(models.TextChoices):
        TONNES = "tonnes", _("per tonnes produced")
        BATCHES = "batches", _("per batches")
        DAYS = "days", _("per production days")
        WEEKS = "weeks", _("per weeks")

    class ComplianceLevel(models.TextChoices):
        """EN 13108-21 Annex A operating compliance level (OCL)."""
        A = "A", "A"
        B = "B", "B"
        C = "C", "C"

    class Severity(models.TextChoices):
        MINOR = "minor", _("Minor")
        MAJOR = "major", _("Major")

    version = models.ForeignKey(RegulationVersion, on_delete=models.CASCADE, related_name="requirements")
    property_code = models.SlugField(max_length=60)
    property_name = models.CharField(max_length=200)
    test_method = models.ForeignKey(ReferenceDocument, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    unit = models.CharField(max_length=30, blank=True)
    lower_limit = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    upper_limit = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    declared_tolerance = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    conformity_rule = models.CharField(max_length=30, choices=ConformityRule.choices, default=ConformityRule.INDIVIDUAL)
    self_monitoring_every = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True,
        help_text=_("One self-monitoring test every N units of the basis."))
    self_monitoring_basis = models.CharField(max_length=20, choices=FrequencyBasis.choices, blank=True)
    sampled_externally = models.BooleanField(default=False, help_text=_("Tested on samples taken at visits."))
    # EN 13108-21 Annex A: data of the regulation (the TRA copies them from the standard's tables).
    ocl_limit_a = models.DecimalField(
        max_digits=10, decimal_places=4, null=True, blank=True, validators=[MinValueValidator(0)],
        verbose_name=_("OCL A limit"),
        help_text=_("EN 13108-21: OCL A when the mean absolute deviation of the last 32 results is at most this."))
    ocl_limit_b = models.DecimalField(
        max_digits=10, decimal_places=4, null=True, blank=True, validators=[MinValueValidator(0)],
        verbose_name=_("OCL B limit"), help_text=_("OCL B when at most this (above: OCL C)."))
    ocl_tonnes_a = models.CharField(
        max_length=40, blank=True, verbose_name=_("t/test at OCL A"),
        help_text=_("Minimum frequency at OCL A: tonnes of mix per test for output levels X/Y/Z, e.g. 600/1000/2000 "
                    "(one number: every output level)."))
    ocl_tonnes_b = models.CharField(max_length=40, blank=True, verbose_name=_("t/test at OCL B"),
                                    help_text=_("Tonnes per test at OCL B, X/Y/Z."))
    ocl_tonnes_c = models.CharField(max_length=40, blank=True, verbose_name=_("t/test at OCL C"),
                                    help_text=_("Tonnes per test at OCL C, X/Y/Z."))
    ocl_start_level = models.CharField(
        max_length=1, choices=ComplianceLevel.choices, blank=True, verbose_name=_("OCL at start"),
        help_text=_("Level applied while fewer than 32 results exist (empty: C)."))
    ocl_escalate_at_c = models.BooleanField(
        default=False, verbose_name=_("OCL C is a nonconformity"),
        help_text=_("OCL C raises a finding and proposes a warning."))
    finding_severity = models.CharField(
        max_length=10, choices=Severity.choices, default=Severity.MAJOR,
        help_text=_("Severity of the finding a failed conformity evaluation raises."))
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "property_code"]
        constraints = [
            models.UniqueConstraint(fields=["version", "property_code"], name="requirement_property_unique"),
        ]

    def __str__(self):
        return f"{self.property_name} ({self.unit})" if self.unit else self.property_name

    def ocl_tonnes_per_test(self, level, output_level="X"):
        """Tonnes of mix per test at OCL ``level`` for the producer's output level (X/Y/Z), or None."""
        numbers = parse_tonnes_per_test(getattr(self, f"ocl_tonnes_{level.lower()}", ""))
        if numbers is None:
            return None
        return numbers[OUTPUT_LEVELS.index(output_level) if output_level in OUTPUT_LEVELS else 0]

    def save(self, *args, **kwargs):
        if _stored_status(self.version_id) != RegulationVersion.Status.DRAFT:
            raise PublishedVersionImmutable(_("Only a draft regulation version can be edited."))
        if self.pk is not None:
            old_version = type(self)._base_manager.filter(pk=self.pk).values_list("version_id", flat=True).first()
            if old_version is not None and _stored_status(old_version) != RegulationVersion.Status.DRAFT:
                raise PublishedVersionImmutable(_("Only a draft regulation version can be edited."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if _stored_status(self.version_id) != RegulationVersion.Status.DRAFT:
            raise PublishedVersionImmutable(_("Only a draft regulation version can be edited."))
        return super().delete(*args, **kwargs)


class ChecklistItem(TenantModel):
    """One point an inspector checks at a visit, as the regulation version lists it."""

    version = models.ForeignKey(RegulationVersion, on_delete=models.CASCADE, related_name="checklist")
    code = models.CharField(max_length=20)
    text = models.TextField()
    mandatory = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "code"]
        constraints = [models.UniqueConstraint(fields=["version", "code"], name="checklist_code_unique")]

    def __str__(self):
        return f"{self.code} {self.text[:60]}"

    def save(self, *args, **kwargs):
        if _stored_status(self.version_id) != RegulationVersion.Status.DRAFT:
            raise PublishedVersionImmutable(_("Only a draft regulation version can be edited."))
        if self.pk is not None:
            old_version = type(self)._base_manager.filter(pk=self.pk).values_list("version_id", flat=True).first()
            if old_version is not None and _stored_status(old_version) != RegulationVersion.Status.DRAFT:
                raise PublishedVersionImmutable(_("Only a draft regulation version can be edited."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if _stored_status(self.version_id) != RegulationVersion.Status.DRAFT:
            raise PublishedVersionImmutable(_("Only a draft regulation version can be edited."))
        return super().delete(*args, **kwargs)


@receiver(m2m_changed, sender=RegulationVersion.reference_documents.through)
def _refuse_reference_documents_change(sender, instance, action, reverse, pk_set, **kwargs):
    """Integrity guard: a published version's list of reference documents never changes."""
    if action not in ("pre_add", "pre_remove", "pre_clear"):
        return
    if not reverse:
        versions = [instance.pk]
    elif pk_set:
        versions = list(pk_set)
    else:
        versions = list(instance.regulation_versions.through.objects.filter(referencedocument=instance)
                        .values_list("regulationversion_id", flat=True))
    if RegulationVersion._base_manager.filter(pk__in=versions).exclude(status=RegulationVersion.Status.DRAFT).exists():
        raise PublishedVersionImmutable(_("A published regulation version's reference documents cannot change."))
