"""The business audit trail: services call ``record`` inside their transaction."""

import contextvars
from contextlib import contextmanager

from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models.fields.files import FieldFile
from django.forms.models import model_to_dict

_actor = contextvars.ContextVar("audit_actor", default=None)


class NotInTransaction(RuntimeError):
    pass


@contextmanager
def acting_as(user, ip=None):
    token = _actor.set((user, ip))
    try:
        yield
    finally:
        _actor.reset(token)


def set_actor(user, ip=None):
    return _actor.set((user, ip))


def reset_actor(token):
    _actor.reset(token)


def snapshot(obj, fields=None, exclude=("password",)):
    """A JSON-safe picture of a model instance, for the before/after columns."""
    if obj is None:
        return None
    data = model_to_dict(obj, fields=fields, exclude=exclude)
    encoder = DjangoJSONEncoder()
    clean = {}
    for key, value in data.items():
        if isinstance(value, list):
            value = [getattr(item, "pk", item) for item in value]
        elif hasattr(value, "pk"):
            value = value.pk
        elif isinstance(value, FieldFile):
            value = value.name or ""
        try:
            encoder.encode(value)
        except TypeError:
            value = str(value)
        clean[key] = value
    return clean


def record(action, obj=None, *, before=None, after=None, reason="", body=None, actor=None):
    """Append one audit event. Must run inside the service's transaction."""
    from certification.models import AuditEvent

    if not connection.in_atomic_block:
        raise NotInTransaction(f"audit.record({action!r}) must be called inside the service's transaction")
    context_actor, ip = _actor.get() or (None, None)
    actor = actor if actor is not None else context_actor
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    if body is None and obj is not None:
        body = getattr(obj, "body", None)
        if body is None and obj.__class__.__name__ == "CertificationBody":
            body = obj
    return AuditEvent.objects.create(
        body=body,
        actor=actor,
        actor_label=actor.email if actor is not None else "system",
        action=action,
        object_type=ContentType.objects.get_for_model(obj) if obj is not None else None,
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:300] if obj is not None else "",
        before=before,
        after=after,
        reason=reason,
        request_ip=ip,
    )
