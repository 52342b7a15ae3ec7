"""Reusable write semantics for viewsets: ``Idempotency-Key`` replay and ``If-Match`` concurrency.

Usage (order matters: idempotency outermost)::

    class HolderViewSet(IdempotentWriteMixin, ConditionalUpdateMixin, viewsets.ModelViewSet):
        ...

* ``IdempotentWriteMixin``: a create/update/partial_update/destroy sent with ``Idempotency-Key`` stores
  its successful response, per key owner (API key or user). The same key with the same method, path and
  JSON body replays it (``Idempotent-Replayed: true``); the same key with anything else is 422. The
  record is written in the same transaction as the write itself, so two concurrent requests with one key
  produce one write: the loser waits on the unique index, rolls back and replays the winner's response.
* ``ConditionalUpdateMixin``: responses of retrieve/create/update carry an ``ETag``; update and
  partial_update need ``If-Match`` (428 without, 412 when stale). The check runs on the row locked with
  SELECT ... FOR UPDATE in the write's transaction. The ETag comes from the model's ``row_version``
  when it has one, else from a hash of all its concrete field values (a content version).
"""

import hashlib
import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict
from rest_framework import exceptions, status
from rest_framework.response import Response

from certification.models import ApiKey, IdempotencyRecord

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_IDEMPOTENCY_KEY = 255


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The object changed since you read it: fetch it again and resend with its new ETag."
    default_code = "precondition_failed"


class PreconditionRequired(exceptions.APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = "Updates need an If-Match header with the ETag of the version you read."
    default_code = "precondition_required"


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used for a different request."
    default_code = "idempotency_key_reused"


def etag_value(obj):
    version = getattr(obj, "row_version", None)
    if version is not None:
        return f"{obj._meta.label_lower}.{obj.pk}.v{version}"
    data = model_to_dict(obj, fields=[f.name for f in obj._meta.concrete_fields])
    encoded = json.dumps(data, sort_keys=True, cls=DjangoJSONEncoder, default=str)
    return hashlib.sha256(f"{obj._meta.label_lower}.{obj.pk}:{encoded}".encode()).hexdigest()[:32]


def etag_header(obj):
    return f'"{etag_value(obj)}"'


def _owner(request):
    if isinstance(request.auth, ApiKey):
        return request.auth.owner_label, request.auth.body_id
    tenant = getattr(request._request, "tenant", None)
    return f"user:{request.user.pk}", getattr(tenant, "pk", None)


def _fingerprint(request):
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


class IdempotentWriteMixin:
    replayed_headers = ("ETag", "Location")

    def create(self, request, *args, **kwargs):
        return self._idempotent(super().create, request, *args, **kwargs)

    def update(self, request, *args, **kwargs):
        return self._idempotent(super().update, request, *args, **kwargs)

    def destroy(self, request, *args, **kwargs):
        return self._idempotent(super().destroy, request, *args, **kwargs)

    # partial_update calls self.update(), which is already wrapped.

    def _idempotent(self, handler, request, *args, **kwargs):
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None or getattr(request, "_idempotency_active", False):
            return handler(request, *args, **kwargs)
        key = key.strip()
        if not key or len(key) > MAX_IDEMPOTENCY_KEY:
            raise exceptions.ValidationError({IDEMPOTENCY_HEADER: [f"Give 1 to {MAX_IDEMPOTENCY_KEY} characters."]})
        owner, body_id = _owner(request)
        if body_id is None:
            return handler(request, *args, **kwargs)
        fingerprint = _fingerprint(request)
        replay = self._replay(owner, body_id, key, fingerprint)
        if replay is not None:
            return replay
        request._idempotency_active = True
        try:
            with transaction.atomic():
                response = handler(request, *args, **kwargs)
                if 200 <= response.status_code < 300:
                    headers = {h: response[h] for h in self.replayed_headers if response.has_header(h)}
                    IdempotencyRecord.objects.create(
                        body_id=body_id, owner=owner, key=key, method=request.method, path=request.path[:500],
                        fingerprint=fingerprint, status_code=response.status_code,
                        response_body=json.loads(json.dumps(response.data, cls=DjangoJSONEncoder))
                        if response.data is not None else None,
                        response_headers=headers,
                    )
        except (IntegrityError, DjangoValidationError, exceptions.APIException):
            # A concurrent request with the same key may have won the race (our write then hit its unique
            # index, or the business rule it just satisfied): our transaction was rolled back; replay its answer.
            replay = self._replay(owner, body_id, key, fingerprint)
            if replay is None:
                raise
            return replay
        finally:
            request._idempotency_active = False
        return response

    @staticmethod
    def _replay(owner, body_id, key, fingerprint):
        record = IdempotencyRecord.objects.filter(body_id=body_id, owner=owner, key=key).first()
        if record is None:
            return None
        if record.fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        response = Response(record.response_body, status=record.status_code, headers=record.response_headers)
        response["Idempotent-Replayed"] = "true"
        return response


class ConditionalUpdateMixin:
    """ETag on reads and writes; If-Match required on updates, checked against the locked row."""

    def retrieve(self, request, *args, **kwargs):
        instance = self.get_object()
        response = Response(self.get_serializer(instance).data)
        response["ETag"] = etag_header(instance)
        return response

    def perform_create(self, serializer):
        super().perform_create(serializer)
        self._written = serializer.instance

    def create(self, request, *args, **kwargs):
        response = super().create(request, *args, **kwargs)
        if getattr(self, "_written", None) is not None:
            response["ETag"] = etag_header(self._written)
        return response

    def lock_if_match(self, request):
        """The object, locked (SELECT ... FOR UPDATE) if ``If-Match`` names its current ETag; call it inside the
        write's transaction. 428 without If-Match, 412 when stale. Also for custom actions that change the
        object (list them in ``if_match_actions`` so that the schema documents the header)."""
        if_match = request.headers.get("If-Match")
        if not if_match:
            raise PreconditionRequired()
        instance = self.get_object()
        locked = type(instance)._default_manager.select_for_update().get(pk=instance.pk)
        wanted = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
        if "*" not in wanted and etag_header(locked) not in wanted:
            raise PreconditionFailed()
        self._locked_instance = locked
        return locked

    def update(self, request, *args, **kwargs):
        if not request.headers.get("If-Match"):
            raise PreconditionRequired()
        with transaction.atomic():
            locked = self.lock_if_match(request)
            response = super().update(request, *args, **kwargs)
            written = getattr(self, "_written", None) or locked
            written.refresh_from_db()
            response["ETag"] = etag_header(written)
        return response

    def get_object(self):
        locked = getattr(self, "_locked_instance", None)
        return locked if locked is not None else super().get_object()

    def perform_update(self, serializer):
        super().perform_update(serializer)
        self._written = serializer.instance
