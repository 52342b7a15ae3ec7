"""Write paths of the partner API: API keys and webhook subscriptions (audited, transactional)."""

import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from certification import audit
from certification.models import ApiKey, Role, WebhookSubscription, WebhookWatch
from certification.models_api import hash_secret

MAX_WATCHLIST = 1000
EVENT_TYPES = ("certificate.status_changed",)


@dataclass
class IssuedKey:
    api_key: ApiKey
    token: str  # "<prefix>.<secret>": shown once, never stored


def _key_snapshot(key):
    return audit.snapshot(key, exclude=("secret_hash",))


@transaction.atomic
def do_create_api_key(*, body, name, kind, scopes=("read",), role="", holder=None, laboratory=None,
                      expires_at=None, created_by=None) -> IssuedKey:
    scopes = sorted(set(scopes))
    if not scopes or not set(scopes) <= set(ApiKey.SCOPES):
        raise ValidationError({"scopes": f"Choose among {', '.join(ApiKey.SCOPES)}."})
    if kind == ApiKey.Kind.BODY:
        if role not in Role.values:
            raise ValidationError({"role": "A body key needs a staff role."})
        holder = laboratory = None
    elif kind == ApiKey.Kind.HOLDER:
        if holder is None:
            raise ValidationError({"holder": "A holder key needs a licence-holder."})
        role, laboratory = "", None
    elif kind == ApiKey.Kind.LAB:
        if laboratory is None:
            raise ValidationError({"laboratory": "A laboratory key needs a laboratory."})
        role, holder = "", None
    else:
        raise ValidationError({"kind": "Unknown kind of key."})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    prefix, secret = ApiKey.generate()
    key = ApiKey(body=body, name=name, kind=kind, role=role, holder=holder, laboratory=laboratory, scopes=scopes,
                 prefix=prefix, secret_hash=hash_secret(secret), expires_at=expires_at, created_by=created_by)
    key.full_clean(exclude=["secret_hash"])
    key.save()
    audit.record("api_key.create", key, after=_key_snapshot(key))
    return IssuedKey(api_key=key, token=f"{prefix}.{secret}")


@transaction.atomic
def do_revoke_api_key(*, api_key, reason=""):
    key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if key.revoked_at is None:
        before = _key_snapshot(key)
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        key.webhook_subscriptions.update(is_active=False)
        audit.record("api_key.revoke", key, before=before, after=_key_snapshot(key), reason=reason)
    return key


def _clean_watchlist(certificates):
    subjects = []
    for raw in certificates:
        subject = str(raw).strip()
        if not subject or len(subject) > 100:
            raise ValidationError({"certificates": "Each certificate number has 1 to 100 characters."})
        if subject not in subjects:
            subjects.append(subject)
    if len(subjects) > MAX_WATCHLIST:
        raise ValidationError({"certificates": f"At most {MAX_WATCHLIST} certificates per subscription."})
    return subjects


def _set_watchlist(subscription, subjects):
    subscription.watches.exclude(subject__in=subjects).delete()
    existing = set(subscription.watches.values_list("subject", flat=True))
    WebhookWatch.objects.bulk_create([WebhookWatch(body_id=subscription.body_id, subscription=subscription, subject=s)
                                      for s in subjects if s not in existing])


def _subscription_snapshot(subscription):
    data = audit.snapshot(subscription, exclude=("secret_salt",))
    data["certificates"] = sorted(subscription.watches.values_list("subject", flat=True))
    return data


@transaction.atomic
def do_create_subscription(*, api_key, url, certificates, event_types=EVENT_TYPES, is_active=True):
    subjects = _clean_watchlist(certificates)
    subscription = WebhookSubscription(body_id=api_key.body_id, api_key=api_key, url=url,
                                       event_types=list(event_types), is_active=is_active,
                                       secret_salt=secrets.token_hex(32))
    subscription.full_clean()
    subscription.save()
    _set_watchlist(subscription, subjects)
    audit.record("webhook.subscribe", subscription, after=_subscription_snapshot(subscription))
    return subscription


@transaction.atomic
def do_update_subscription(*, subscription, changes):
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    before = _subscription_snapshot(subscription)
    certificates = changes.pop("certificates", None)
    for field, value in changes.items():
        setattr(subscription, field, value)
    subscription.row_version += 1
    subscription.full_clean()
    subscription.save()
    if certificates is not None:
        _set_watchlist(subscription, _clean_watchlist(certificates))
    audit.record("webhook.update", subscription, before=before, after=_subscription_snapshot(subscription))
    return subscription


@transaction.atomic
def do_delete_subscription(*, subscription):
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    audit.record("webhook.unsubscribe", subscription, before=_subscription_snapshot(subscription))
    subscription.delete()
