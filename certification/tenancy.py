"""Row-level tenancy: one mechanism scopes every query on tenant-owned rows.

A *scope* says which certification body (and, for portal and lab users, which licence-holder or
laboratory) the current request or task may see. Tenant models use ``TenantManager``, whose querysets
carry a ``ScopeCondition``: an SQL condition compiled when the query runs, from the scope active at
that moment. With no active scope the query raises ``ScopeError`` instead of returning rows (fail
closed), so a task or command that forgot its body cannot read or write across tenants.

``scopes_disabled()`` is for migrations, management commands and platform-level jobs only;
``public_reads()`` marks the public pages, which read across bodies through public selectors.
"""

import contextvars
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import BooleanField, F
from django.db.models.expressions import Expression
from django.utils.translation import gettext as _


class ScopeError(RuntimeError):
    """A tenant-owned table was queried with no tenant scope active."""


class CrossTenantReference(ValidationError):
    """A row points at a row that belongs to another certification body."""


class _All:
    def __repr__(self):
        return "ALL"


ALL = _All()
DIMENSIONS = ("body", "holder", "laboratory")


@dataclass(frozen=True)
class Scope:
    body: object = ALL
    holder: object = ALL
    laboratory: object = ALL
    reason: str = ""

    def restriction(self, dimension):
        return getattr(self, dimension)

    @property
    def body_id(self):
        return None if self.body is ALL else self.body


_current_scope: contextvars.ContextVar[Scope | None] = contextvars.ContextVar("tenant_scope", default=None)


def active_scope() -> Scope:
    scope = _current_scope.get()
    if scope is None:
        raise ScopeError(
            "A tenant-owned table was queried outside any tenant scope. "
            "Wrap the work in tenant_scope(body=...) (tasks receive the body explicitly)."
        )
    return scope


def current_scope() -> Scope | None:
    return _current_scope.get()


def _pk(value):
    if value is ALL or value is None or isinstance(value, int):
        return value
    return value.pk


@contextmanager
def tenant_scope(body, holder=ALL, laboratory=ALL):
    """Activate the scope of one certification body (optionally one holder or laboratory)."""
    if body is None or body is ALL:
        raise ScopeError("tenant_scope() needs a body; use scopes_disabled() for platform work")
    token = _current_scope.set(Scope(body=_pk(body), holder=_pk(holder), laboratory=_pk(laboratory)))
    try:
        yield
    finally:
        _current_scope.reset(token)


@contextmanager
def scopes_disabled(reason="platform"):
    token = _current_scope.set(Scope(reason=reason))
    try:
        yield
    finally:
        _current_scope.reset(token)


def public_reads():
    """The public directory and verification pages read across bodies, through public selectors."""
    return scopes_disabled(reason="public")


def activate(scope: Scope | None):
    """Set the scope for the rest of the current context; returns a token for ``deactivate``."""
    return _current_scope.set(scope)


def deactivate(token):
    _current_scope.reset(token)


class ScopeCondition(Expression):
    """``WHERE body_id = <active body> [AND holder path = <active holder>] ...``, decided at compile time."""

    conditional = True

    def __init__(self, paths, refs=None):
        super().__init__(output_field=BooleanField())
        self.paths = dict(paths)
        self.refs = list(refs) if refs is not None else [F(path) for path in self.paths.values()]

    def __repr__(self):
        return f"ScopeCondition({self.paths!r})"

    def get_source_expressions(self):
        return list(self.refs)

    def set_source_expressions(self, exprs):
        self.refs = list(exprs)

    def resolve_expression(self, query=None, allow_joins=True, reuse=None, summarize=False, for_save=False):
        clone = self.copy()
        clone.refs = [ref.resolve_expression(query, allow_joins, reuse, summarize, for_save) for ref in self.refs]
        return clone

    def as_sql(self, compiler, connection):
        scope = active_scope()
        parts, params = [], []
        for dimension, ref in zip(self.paths, self.refs, strict=True):
            value = scope.restriction(dimension)
            if value is ALL:
                continue
            column_sql, column_params = compiler.compile(ref)
            parts.append(f"{column_sql} = %s")
            params.extend([*column_params, value])
        if not parts:
            return "(1 = 1)", []
        return "(" + " AND ".join(parts) + ")", params


class TenantQuerySet(models.QuerySet):
    pass


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    """Default manager of tenant-owned models: every queryset it hands out is scoped."""

    def get_queryset(self):
        return super().get_queryset().filter(ScopeCondition(self.model.scope_paths))


class TenantModel(models.Model):
    """A row owned by one certification body.

    ``scope_paths`` maps scope dimensions to the lookup path of this row's owner in that dimension;
    subclasses add ``"holder"`` or ``"laboratory"`` when portal or lab users may see some rows.
    """

    body = models.ForeignKey("certification.CertificationBody", on_delete=models.PROTECT, related_name="+")

    objects = TenantManager()
    scope_paths = {"body": "body"}

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        scope = current_scope()
        if scope is not None and scope.body is not ALL and self.body_id != scope.body:
            raise CrossTenantReference({"body": _("This object belongs to another certification body.")})
        self.check_same_body()
        super().save(*args, **kwargs)

    def check_same_body(self):
        """Refuse a foreign key to another body's row, whatever path the id came in by."""
        for field in self._meta.concrete_fields:
            if not field.many_to_one or field.name == "body":
                continue
            related_model = field.related_model
            if not (isinstance(related_model, type) and issubclass(related_model, TenantModel)):
                continue
            related_id = getattr(self, field.attname)
            if related_id is None:
                continue
            cached = field.get_cached_value(self, default=None)
            if cached is not None and cached.pk == related_id:
                related_body = cached.body_id
            else:
                related_body = (
                    related_model._base_manager.filter(pk=related_id).values_list("body_id", flat=True).first()
                )
            if related_body != self.body_id:
                raise CrossTenantReference({field.name: _("This object belongs to another certification body.")})


def for_each_active_body(task):
    """Queue ``task`` (a ``body_task``) once per active certification body; beat jobs fan out this way so
    each body's work runs in its own scope and transaction. Returns how many were queued."""
    from certification.models import CertificationBody

    body_ids = list(CertificationBody.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))
    for body_id in body_ids:
        task.delay(body_id)
    return len(body_ids)


def body_task(func):
    """For Celery tasks: the first argument is the body id, and the task body runs in that body's scope."""

    @wraps(func)
    def wrapper(body_id, *args, **kwargs):
        with tenant_scope(body_id):
            return func(body_id, *args, **kwargs)

    return wrapper
