"""Write paths of the project package: bodies and staff memberships. Each is one audited transaction."""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from certification import audit
from certification.models import CertificationBody, Membership, Role, User
from certification.tenancy import scopes_disabled, tenant_scope


def get_or_create_user(email, full_name="", password=None):
    email = email.strip().lower()
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=password, full_name=full_name)
    return user


def send_invitation_on_commit(user, subject, message, **values):
    """Once the transaction commits, e-mail ``user`` the ``message`` and a link to choose a password (the
    password-reset confirmation page): invitees never receive a password. ``subject`` and ``message`` are
    msgids (mark them with ``gettext_noop``) with ``%(name)s`` placeholders filled from ``values``, translated
    into the invitee's language."""
    def send():
        link = settings.SITE_URL + reverse("password_reset_confirm", kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": default_token_generator.make_token(user)})
        context = {**values, "link": link}
        with translation.override(user.language or None):
            send_mail(_(subject) % context,
                      _(message) % context + "\n" + _("Choose your password here: %(link)s") % context + "\n",
                      None, [user.email])

    transaction.on_commit(send)


@transaction.atomic
def do_create_body(*, code, name, **fields):
    with scopes_disabled("create body"):
        body = CertificationBody.objects.create(code=code, name=name, **fields)
        audit.record("body.create", body, after=audit.snapshot(body), body=body)
    return body


@transaction.atomic
def do_add_member(*, body, email, role, full_name="", password=None):
    """Give a person a back-office role in ``body`` (creating their account if needed)."""
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}")
    user = get_or_create_user(email, full_name, password)
    with tenant_scope(body):
        membership, created = Membership.objects.get_or_create(body=body, user=user, defaults={"role": role})
        if not created:
            before = audit.snapshot(membership)
            membership.role, membership.is_active = role, True
            membership.save(update_fields=["role", "is_active"])
            audit.record("membership.update", membership, before=before, after=audit.snapshot(membership))
        else:
            audit.record("membership.create", membership, after=audit.snapshot(membership))
    return membership


@transaction.atomic
def do_change_role(*, membership, role, is_active=True, reason=""):
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}")
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    before = audit.snapshot(membership)
    membership.role, membership.is_active = role, is_active
    membership.save(update_fields=["role", "is_active"])
    audit.record("membership.update", membership, before=before, after=audit.snapshot(membership), reason=reason)
    return membership


def set_user_language(user, language):
    """Remember a person's language (a preference, not a business change: not audited). E-mails to them and
    pages on a device without a language cookie use it."""
    if language in {code for code, _name in settings.LANGUAGES} and user.language != language:
        user.language = language
        user.save(update_fields=["language"])
