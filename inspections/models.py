from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

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

    scope_paths = {"body": "body", "holder": "licence__holder"}

    class Meta:
        ordering = ["planned_for", "id"]
        indexes = [models.Index(fields=["body", "state", "planned_for"])]

    def __str__(self):
        return f"{self.get_kind_display()} visit {self.planned_for:%Y-%m-%d} — {self.licence.number}"
