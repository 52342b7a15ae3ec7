from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from certification.tenancy import TenantModel


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
