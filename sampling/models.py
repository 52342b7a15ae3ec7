from django.conf import settings
from django.db import models

from certification.tenancy import TenantModel


class Laboratory(TenantModel):
    """A laboratory recognised by the body for testing samples."""

    name = models.CharField(max_length=200)
    accreditation = models.CharField(max_length=200, blank=True)
    address = models.TextField(blank=True)
    email = models.EmailField(blank=True)

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
