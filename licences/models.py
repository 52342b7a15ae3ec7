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
