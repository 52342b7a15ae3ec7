"""Write paths of marks/: regulations (TRA) and their versions. Every function is one business action,
transactional, and writes its audit event in the same transaction.

Versioning rules:
- a regulation has at most one draft; a new draft is copied from the latest published version;
- only a draft is edited; every edit carries the draft's ``row_version`` as loaded by the editor and is
  refused when someone else changed the draft in between (``StaleEdit``);
- publishing sets the effective date and transition end; the previously published version becomes
  superseded; published and superseded versions are immutable (enforced again in the models).
"""

from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from certification import audit
from marks import selectors
from marks.models import (
    ChecklistItem,
    PublishedVersionImmutable,
    Regulation,
    RegulationVersion,
    Requirement,
)

VERSION_HEADER_FIELDS = [
    "visits_per_year_admission", "visits_per_year_normal", "visits_per_year_reinforced", "unannounced_share",
    "samples_per_year", "changes_summary", "document",
]
REQUIREMENT_FIELDS = [
    "property_code", "property_name", "test_method", "unit", "lower_limit", "upper_limit", "declared_tolerance",
    "conformity_rule", "self_monitoring_every", "self_monitoring_basis", "sampled_externally", "order",
    "ocl_limit_a", "ocl_limit_b", "ocl_tonnes_a", "ocl_tonnes_b", "ocl_tonnes_c", "ocl_start_level",
    "ocl_escalate_at_c", "finding_severity",
]
CHECKLIST_FIELDS = ["code", "text", "mandatory", "order"]


class MandateError(ValidationError):
    """The body holds no valid mandate for this mark and product category."""


class StaleEdit(ValidationError):
    """The draft changed since the editor loaded it."""


class VersioningError(ValidationError):
    """A versioning rule was broken (second draft, publishing a non-draft, bad dates...)."""


def ensure_mandate(body, mark, category=None, on_date=None):
    """Refuse (``MandateError``) unless ``body`` holds a valid mandate for ``mark`` (and ``category``)."""
    if not selectors.has_mandate(body, mark, category, on_date=on_date):
        what = f"{mark} / {category}" if category is not None else str(mark)
        raise MandateError(_("%(body)s holds no valid mandate for %(what)s.") % {"body": body, "what": what})


def _version_snapshot(version):
    return audit.snapshot(version, exclude=("password", "published_by"))


def _version_content(version):
    """The version's content as plain data, for audit snapshots."""
    return {
        **_version_snapshot(version),
        "requirements": [audit.snapshot(r, fields=REQUIREMENT_FIELDS) for r in version.requirements.all()],
        "checklist": [audit.snapshot(c, fields=CHECKLIST_FIELDS) for c in version.checklist.all()],
    }


@transaction.atomic
def do_create_regulation(*, body, code, title, mark, categories, sector_committee=""):
    """A new regulation with an empty draft version 1; only under the body's mandate for every category."""
    categories = list(categories)
    if not categories:
        raise ValidationError({"categories": _("Choose at least one product category.")})
    for category in categories:
        ensure_mandate(body, mark, category)
    if Regulation.objects.filter(code=code).exists():
        raise ValidationError({"code": _("A regulation with this code already exists.")})
    regulation = Regulation.objects.create(body=body, code=code, title=title, mark=mark,
                                           sector_committee=sector_committee)
    regulation.categories.set(categories)
    version = RegulationVersion.objects.create(body=body, regulation=regulation, version=1)
    audit.record("regulation.created", regulation,
                 after={**audit.snapshot(regulation), "draft_version": version.version})
    return regulation


@transaction.atomic
def do_draft_version(*, regulation, changes_summary=""):
    """A new draft copied from the latest published version: requirements, checklist, documents, frequencies."""
    regulation = Regulation.objects.select_for_update().get(pk=regulation.pk)
    if regulation.versions.filter(status=RegulationVersion.Status.DRAFT).exists():
        raise VersioningError(_("This regulation already has a draft; edit or publish it first."))
    previous = (regulation.versions.exclude(status=RegulationVersion.Status.DRAFT).order_by("-version").first())
    last_number = regulation.versions.order_by("-version").values_list("version", flat=True).first() or 0
    draft = RegulationVersion(body=regulation.body, regulation=regulation, version=last_number + 1,
                              previous=previous, changes_summary=changes_summary)
    if previous is not None:
        for name in VERSION_HEADER_FIELDS:
            if name != "changes_summary":
                setattr(draft, name, getattr(previous, name))
    draft.save()
    if previous is not None:
        draft.reference_documents.set(previous.reference_documents.all())
        for req in previous.requirements.all():
            Requirement.objects.create(body=draft.body, version=draft,
                                       **{name: getattr(req, name) for name in REQUIREMENT_FIELDS})
        for item in previous.checklist.all():
            ChecklistItem.objects.create(body=draft.body, version=draft,
                                         **{name: getattr(item, name) for name in CHECKLIST_FIELDS})
    audit.record("regulation.version_drafted", draft, after=_version_content(draft),
                 reason=f"from v{previous.version}" if previous else "first version")
    return draft


def _lock_draft(version, expected_row_version):
    """Lock the draft row, refusing published versions and stale edits."""
    locked = RegulationVersion.objects.select_for_update().get(pk=version.pk)
    if locked.status != RegulationVersion.Status.DRAFT:
        raise PublishedVersionImmutable(
            _("Version %(v)s is %(status)s and cannot be changed; draft a new version instead.")
            % {"v": locked.version, "status": locked.get_status_display().lower()})
    if expected_row_version is None or int(expected_row_version) != locked.row_version:
        raise StaleEdit(_("Someone else changed this draft since you opened it (your copy: %(mine)s, now: "
                          "%(now)s). Reload the page and apply your changes again.")
                        % {"mine": expected_row_version, "now": locked.row_version})
    return locked


@dataclass
class RowChanges:
    """Edits of one list (requirements or checklist items): rows to create, update (pk → values), delete."""

    create: list = field(default_factory=list)
    update: dict = field(default_factory=dict)
    delete: list = field(default_factory=list)

    def __bool__(self):
        return bool(self.create or self.update or self.delete)


def _apply_rows(draft, model, related, changes, allowed):
    rows = {row.pk: row for row in getattr(draft, related).all()}
    for pk in changes.delete:
        if pk not in rows:
            raise ValidationError(_("A row to delete does not belong to this draft."))
        rows.pop(pk).delete()
    for pk, values in changes.update.items():
        row = rows.get(pk)
        if row is None:
            raise ValidationError(_("A row to update does not belong to this draft."))
        for name, value in values.items():
            if name in allowed:
                setattr(row, name, value)
        row.save()
    for values in changes.create:
        model.objects.create(body=draft.body, version=draft, **{k: v for k, v in values.items() if k in allowed})


@transaction.atomic
def do_edit_draft(*, version, expected_row_version, header=None, reference_documents=None, requirements=None,
                  checklist=None, reason=""):
    """Edit a draft: header fields, reference documents, requirement and checklist rows, in one go.

    ``expected_row_version`` is the draft's row version as the editor loaded it: a stale edit is refused.
    """
    draft = _lock_draft(version, expected_row_version)
    before = _version_content(draft)
    for name, value in (header or {}).items():
        if name not in VERSION_HEADER_FIELDS:
            raise ValidationError(_("%(name)s cannot be edited here.") % {"name": name})
        setattr(draft, name, value)
    try:
        with transaction.atomic():
            if reference_documents is not None:
                draft.reference_documents.set(reference_documents)
            _apply_rows(draft, Requirement, "requirements", requirements or RowChanges(), REQUIREMENT_FIELDS)
            _apply_rows(draft, ChecklistItem, "checklist", checklist or RowChanges(), CHECKLIST_FIELDS)
    except IntegrityError as exc:
        raise ValidationError(_("Two rows have the same property code or checklist code.")) from exc
    draft.row_version += 1
    draft.save()
    audit.record("regulation.draft_edited", draft, before=before, after=_version_content(draft), reason=reason)
    return draft


@transaction.atomic
def do_replace_requirements(*, version, expected_row_version, rows, reason="import"):
    """Replace all requirements of a draft with ``rows`` (validated dicts); used by the import."""
    draft = _lock_draft(version, expected_row_version)
    before = _version_content(draft)
    for requirement in list(draft.requirements.all()):
        requirement.delete()
    for values in rows:
        Requirement.objects.create(body=draft.body, version=draft,
                                   **{k: v for k, v in values.items() if k in REQUIREMENT_FIELDS})
    draft.row_version += 1
    draft.save()
    audit.record("regulation.requirements_imported", draft, before=before, after=_version_content(draft),
                 reason=reason)
    return draft


@transaction.atomic
def do_publish_version(*, version, effective_date, transition_end=None, expected_row_version, user=None):
    """Publish a draft with its effective date and transition end; the previous published version is superseded."""
    draft = _lock_draft(version, expected_row_version)
    if not isinstance(effective_date, date):
        raise ValidationError({"effective_date": _("An effective date is required.")})
    if transition_end is not None and transition_end < effective_date:
        raise ValidationError({"transition_end": _("The transition cannot end before the effective date.")})
    if not draft.requirements.exists():
        raise VersioningError(_("A version without requirements cannot be published."))
    published = list(draft.regulation.versions.select_for_update().filter(status=RegulationVersion.Status.PUBLISHED))
    latest_effective = max((v.effective_date for v in published if v.effective_date), default=None)
    if latest_effective is not None and effective_date <= latest_effective:
        raise ValidationError({"effective_date": _("The effective date must come after the one of the version in "
                                                   "force (%(date)s).") % {"date": latest_effective}})
    before = _version_snapshot(draft)
    for old in published:
        old_before = audit.snapshot(old, fields=["status"])
        old.status = RegulationVersion.Status.SUPERSEDED
        old.save(update_fields=["status"])
        audit.record("regulation.version_superseded", old, before=old_before, after=audit.snapshot(old, fields=["status"]),
                     reason=f"superseded by v{draft.version}")
    draft.status = RegulationVersion.Status.PUBLISHED
    draft.effective_date = effective_date
    draft.transition_end = transition_end
    draft.published_at = timezone.now()
    if user is not None and getattr(user, "is_authenticated", False):
        draft.published_by = user
    draft.row_version += 1
    draft.save()
    audit.record("regulation.version_published", draft, before=before,
                 after=_version_snapshot(draft))
    return draft
