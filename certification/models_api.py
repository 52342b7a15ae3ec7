"""Models of the partner API: API keys, idempotency records, webhook subscriptions and their outbox.

Star-imported by ``certification.models``; only names in ``__all__`` are exported.
"""

import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from certification.tenancy import TenantModel

__all__ = ["ApiKey", "IdempotencyRecord", "WebhookSubscription", "WebhookWatch", "WebhookDelivery",
           "WebhookAttempt"]

PREFIX_BYTES = 6  # 12 hex characters: the public lookup part of a key
SECRET_BYTES = 32  # 256 bits of entropy: a plain sha256 is enough (no slow hash needed)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKey(TenantModel):
    """A credential of a partner system: a body's own system (staff role), a holder's or a laboratory's.

    The full key ``<prefix>.<secret>`` is shown once, at creation; only ``sha256(secret)`` is stored.
    """

    class Kind(models.TextChoices):
        BODY = "body", _("Certification body system")
        HOLDER = "holder", _("Licence-holder system")
        LAB = "lab", _("Laboratory system")

    SCOPES = ("read", "write")

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    role = models.CharField(max_length=20, blank=True,
                            help_text=_("Body keys: the staff role whose capabilities the key has."))
    holder = models.ForeignKey("licences.LicenceHolder", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="+")
    laboratory = models.ForeignKey("sampling.Laboratory", null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="+")
    scopes = models.JSONField(default=list, help_text=_('Subset of ["read", "write"].'))
    prefix = models.CharField(max_length=24, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    scope_paths = {"body": "body", "holder": "holder", "laboratory": "laboratory"}

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="apikey_owner_matches_kind",
                condition=(models.Q(kind="body", holder__isnull=True, laboratory__isnull=True)
                           | models.Q(kind="holder", holder__isnull=False, laboratory__isnull=True)
                           | models.Q(kind="lab", holder__isnull=True, laboratory__isnull=False)),
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.prefix})"

    @staticmethod
    def generate():
        """A fresh ``(prefix, secret)`` pair."""
        return secrets.token_hex(PREFIX_BYTES), secrets.token_urlsafe(SECRET_BYTES)

    def check_secret(self, secret: str) -> bool:
        return hmac.compare_digest(self.secret_hash, hash_secret(secret))

    @property
    def is_usable(self):
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    @property
    def owner_label(self):
        return f"key:{self.pk}"


class IdempotencyRecord(TenantModel):
    """The stored response of a write sent with an ``Idempotency-Key``, per key owner."""

    owner = models.CharField(max_length=40)  # "key:<api key id>" or "user:<user id>"
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_body = models.JSONField(null=True)
    response_headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["body", "owner", "key"], name="idempotency_key_per_owner")]

    def __str__(self):
        return f"{self.owner} {self.key}"


class WebhookSubscription(TenantModel):
    """A partner's endpoint, told about status changes of the certificates on its watchlist."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="webhook_subscriptions")
    url = models.URLField(max_length=500)
    event_types = models.JSONField(default=list)
    secret_salt = models.CharField(max_length=64)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    row_version = models.PositiveIntegerField(default=1)

    scope_paths = {"body": "body", "holder": "api_key__holder", "laboratory": "api_key__laboratory"}

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.url

    @property
    def certificates(self):
        return sorted(watch.subject for watch in self.watches.all())

    @property
    def secret(self) -> str:
        """Derived, never stored: HMAC of the server secret and this subscription's salt."""
        digest = hmac.new(settings.SECRET_KEY.encode(), f"webhook:{self.secret_salt}".encode(), hashlib.sha256)
        return "whsec_" + digest.hexdigest()


class WebhookWatch(TenantModel):
    """One certificate number on a subscription's watchlist."""

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="watches")
    subject = models.CharField(max_length=100)

    scope_paths = {"body": "body", "holder": "subscription__api_key__holder",
                   "laboratory": "subscription__api_key__laboratory"}

    class Meta:
        ordering = ["subject", "id"]
        constraints = [models.UniqueConstraint(fields=["subscription", "subject"], name="webhook_watch_unique")]
        indexes = [models.Index(fields=["body", "subject"])]

    def __str__(self):
        return self.subject


class WebhookDelivery(TenantModel):
    """Outbox row: one event for one subscription, written in the transaction that published the event."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField(unique=True)
    event_type = models.CharField(max_length=100)
    subject = models.CharField(max_length=100)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    scope_paths = {"body": "body", "holder": "subscription__api_key__holder",
                   "laboratory": "subscription__api_key__laboratory"}

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self):
        return f"{self.event_type} {self.subject} → {self.subscription_id} ({self.status})"


class WebhookAttempt(TenantModel):
    """Every delivery attempt, successful or not."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True)
    error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)

    scope_paths = {"body": "body", "holder": "delivery__subscription__api_key__holder",
                   "laboratory": "delivery__subscription__api_key__laboratory"}

    class Meta:
        ordering = ["delivery", "number", "id"]

    def __str__(self):
        return f"attempt {self.number} of {self.delivery_id}: {self.response_status or self.error}"
