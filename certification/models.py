from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from certification.tenancy import TenantManager, TenantModel, TenantQuerySet
from certification.validators import validate_company_number


class CertificationBody(models.Model):
    """The tenant: a certification body (COPRO, or any other body on the same installation)."""

    code = models.SlugField(unique=True, help_text=_("Short code used in certificate numbers, e.g. COPRO."))
    name = models.CharField(max_length=200)
    legal_name = models.CharField(max_length=200, blank=True)
    company_number = models.CharField(
        max_length=20, blank=True, validators=[validate_company_number],
        help_text=_("Belgian enterprise number or EU VAT number."),
    )
    address = models.TextField(blank=True)
    email = models.EmailField(blank=True)
    website = models.URLField(blank=True)
    accreditation = models.CharField(max_length=200, blank=True, help_text=_("e.g. BELAC 046-PROD (ISO/IEC 17065)"))
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_superuser=True, is_staff=True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in with an email address; what they see comes from their memberships."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    language = models.CharField(max_length=2, choices=[("en", "English"), ("fr", "Français"), ("nl", "Nederlands")],
                                default="en")
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text=_("Platform operator (not body staff)."))
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["email"]

    def __str__(self):
        return self.full_name or self.email

    def save(self, *args, **kwargs):
        self.email = self.email.lower()
        super().save(*args, **kwargs)


class Role(models.TextChoices):
    ADMIN = "admin", _("Body administrator")
    OFFICER = "officer", _("Certification officer")
    PLANNER = "planner", _("Planner")
    INSPECTOR = "inspector", _("Inspector")
    AUDITOR = "auditor", _("Read-only auditor")


class Membership(TenantModel):
    """A user's role in the back-office of one certification body."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["body", "user"], name="membership_one_per_body")]
        ordering = ["user__email"]

    def __str__(self):
        return f"{self.user} — {self.get_role_display()}"


class AppendOnlyError(PermissionError):
    """A row of an append-only table (audit trail, chain of custody, lab results) was asked to change or go."""


class AppendOnlyQuerySet(TenantQuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only")

    def delete(self):
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only")


class AppendOnlyModel(TenantModel):
    """Rows written once: never updated in place, never deleted, through the model or its queryset (each such
    table also has a PostgreSQL trigger refusing UPDATE and DELETE)."""

    objects = TenantManager.from_queryset(AppendOnlyQuerySet)()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(f"{self.__class__.__name__} rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{self.__class__.__name__} rows are append-only")


class AuditEvent(AppendOnlyModel):
    """One business event, written by a service in the same transaction as the change it records."""

    body = models.ForeignKey(CertificationBody, on_delete=models.PROTECT, related_name="+", null=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(User, on_delete=models.PROTECT, null=True, related_name="+")
    actor_label = models.CharField(max_length=254)
    action = models.CharField(max_length=100, db_index=True)
    object_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, null=True, related_name="+")
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=300, blank=True)
    before = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    reason = models.TextField(blank=True)
    request_ip = models.GenericIPAddressField(null=True)


    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"



from certification.models_api import *  # noqa: E402,F401,F403  (API models live in their own module)
