"""Read paths of marks/: reference data, mandates, regulations, the version that applies, inspection plans."""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marks.models import ChecklistItem, Mandate, Mark, ProductCategory, Regulation, RegulationVersion, Requirement

IN_FORCE = (RegulationVersion.Status.PUBLISHED, RegulationVersion.Status.SUPERSEDED)


def marks():
    return Mark.objects.all()


def category_tree():
    return ProductCategory.objects.select_related("parent").order_by("parent__code", "code")


def mandates_of_current_body():
    return Mandate.objects.select_related("mark").prefetch_related("categories")


# --- mandates -------------------------------------------------------------------------------------------

def has_mandate(body, mark, category=None, on_date=None):
    """Does ``body`` hold a mandate for ``mark`` valid on ``on_date`` covering ``category`` (or an ancestor)?

    A mandate with no categories covers every category of the mark.
    """
    on_date = on_date or timezone.localdate()
    mandate = (
        Mandate.objects.filter(body=body, mark=mark, valid_from__lte=on_date)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=on_date)).first()
    )
    if mandate is None:
        return False
    if category is None:
        return True
    covered = set(mandate.categories.values_list("pk", flat=True))
    if not covered:
        return True
    seen = set()
    while category is not None and category.pk not in seen:
        if category.pk in covered:
            return True
        seen.add(category.pk)
        category = category.parent
    return False


def mandated_marks(body, on_date=None):
    on_date = on_date or timezone.localdate()
    return Mark.objects.filter(
        Q(mandates__valid_until__isnull=True) | Q(mandates__valid_until__gte=on_date),
        mandates__body=body, mandates__valid_from__lte=on_date,
    ).distinct()


# --- regulations ----------------------------------------------------------------------------------------

def regulations_for_staff():
    return Regulation.objects.select_related("mark").prefetch_related("categories")


def versions_for_staff():
    return RegulationVersion.objects.select_related("regulation", "regulation__mark", "previous", "published_by")


def version_with_content(pk):
    return (versions_for_staff().prefetch_related("reference_documents", "requirements__test_method", "checklist")
            .get(pk=pk))


def draft_of(regulation):
    return regulation.versions.filter(status=RegulationVersion.Status.DRAFT).first()


def published_versions():
    """Published and superseded versions (the ones licences may point at)."""
    return versions_for_staff().filter(status__in=IN_FORCE)


def applicable_version(regulation, on_date):
    """The version in force on ``on_date``: the latest published (or since superseded) one already effective."""
    return (
        regulation.versions.filter(status__in=IN_FORCE, effective_date__lte=on_date)
        .order_by("-effective_date", "-version").first()
    )


def _transition_over(version, on_date):
    """Has the transition to ``version`` ended on ``on_date``? (no transition: from its effective date on)."""
    if version.effective_date is None or version.effective_date > on_date:
        return False
    return version.transition_end is None or version.transition_end < on_date


def version_for_licence(licence, on_date):
    """The version a licence must follow on ``on_date``.

    A licence keeps the version it was granted under until the transition period of a newer published
    version has ended; from the day after ``transition_end`` (or from ``effective_date`` when the newer
    version has no transition) the newer version applies. With several newer versions the latest one
    whose transition is over wins.
    """
    own = licence.regulation_version
    newer = (
        RegulationVersion.objects.filter(regulation_id=own.regulation_id, status__in=IN_FORCE, version__gt=own.version,
                                         effective_date__lte=on_date)
        .order_by("-version")
    )
    for candidate in newer:
        if _transition_over(candidate, on_date):
            return candidate
    return own


# --- inspection plan ------------------------------------------------------------------------------------

@dataclass
class InspectionPlan:
    """What a licence needs in one year, from its regulation version and inspection regime."""

    licence: object
    year: int
    version: RegulationVersion
    regime: str
    visits_per_year: Decimal  # as the regulation states it (may be fractional: 0.5 = one visit every 2 years)
    visits: int  # visits to plan this year (the stated figure rounded up)
    unannounced: int  # of which unannounced
    samples: int  # samples to take this year
    sampled_properties: list  # Requirement rows tested on the samples
    checklist: list  # ChecklistItem rows the inspector goes through
    share: Decimal = Decimal(1)  # part of the year the licence is in force (prorates visits and samples)

    @property
    def announced(self):
        return self.visits - self.unannounced

    @property
    def share_percent(self):
        return int((self.share * 100).to_integral_value(rounding=ROUND_HALF_UP))

    def as_dict(self):
        return {
            "licence": str(self.licence), "year": self.year, "version": str(self.version), "regime": self.regime,
            "visits_per_year": str(self.visits_per_year), "visits": self.visits, "unannounced": self.unannounced,
            "announced": self.announced, "samples": self.samples,
            "sampled_properties": [r.property_code for r in self.sampled_properties],
            "checklist": [c.code for c in self.checklist],
        }


def visits_for_regime(version, regime):
    return {
        "admission": version.visits_per_year_admission,
        "normal": version.visits_per_year_normal,
        "reinforced": version.visits_per_year_reinforced,
    }[regime]


def in_force_between(created_at, granted_on, expires_on):
    """First and last day a licence is in force (``None``: no end), from its fields. It counts from its
    creation (admission) or from an earlier grant date (a licence taken over from a previous system)."""
    since = created_at.date() if created_at else None
    if granted_on and (since is None or granted_on < since):
        since = granted_on
    return since, expires_on


def share_of_year(year, since=None, until=None):
    """The fraction of ``year``'s days between ``since`` and ``until`` (inclusive; ``None`` is open)."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    start = max(first, since) if since else first
    end = min(last, until) if until else last
    if end < start:
        return Decimal(0)
    return Decimal((end - start).days + 1) / Decimal((last - first).days + 1)


def prorated(per_year, share):
    """Whole visits or samples for part of a year: the yearly figure times the share, rounded up (a licence in
    force for any part of the year gets at least one when the regulation asks for any)."""
    return int((Decimal(per_year) * share).to_integral_value(rounding=ROUND_CEILING))


def inspection_plan(licence, year, on_date=None):
    """How many visits (announced/unannounced) and samples ``licence`` needs in ``year``, what is sampled and
    which checklist applies.

    The version is the one that applies to the licence on ``on_date`` (default: today when ``year`` is the
    current year, else 1 January of ``year``); the visit frequency follows ``licence.inspection_regime``.
    Fractional frequencies are rounded up to whole visits; the unannounced count is the unannounced share of
    those visits rounded half up, and at least one when the share is positive. A licence in force for only
    part of the year (created or granted, or expiring, during it) gets its visits and samples prorated by
    days, rounded up.
    """
    if on_date is None:
        today = timezone.localdate()
        on_date = today if today.year == year else date(year, 1, 1)
    version = version_for_licence(licence, on_date)
    stated = Decimal(visits_for_regime(version, licence.inspection_regime))
    in_force = share_of_year(year, *in_force_between(licence.created_at, licence.granted_on, licence.expires_on))
    visits = prorated(stated, in_force)
    share = Decimal(version.unannounced_share)
    unannounced = int((visits * share).to_integral_value(rounding=ROUND_HALF_UP)) if visits else 0
    if visits and share > 0:
        unannounced = max(unannounced, 1)
    unannounced = min(unannounced, visits)
    sampled = list(Requirement.objects.filter(version=version, sampled_externally=True).select_related("test_method"))
    checklist = list(ChecklistItem.objects.filter(version=version))
    return InspectionPlan(
        licence=licence, year=year, version=version, regime=licence.inspection_regime, visits_per_year=stated,
        visits=visits, unannounced=unannounced, samples=prorated(version.samples_per_year, in_force),
        sampled_properties=sampled, checklist=checklist, share=in_force,
    )


# --- comparing versions ---------------------------------------------------------------------------------

# Labels of a version's header fields (forms and the version comparison; the model fields carry none).
VERSION_FIELD_LABELS = {
    "visits_per_year_admission": _("Visits a year — admission"),
    "visits_per_year_normal": _("Visits a year — normal"),
    "visits_per_year_reinforced": _("Visits a year — reinforced"),
    "unannounced_share": _("Unannounced share"),
    "samples_per_year": _("Samples a year"),
    "changes_summary": _("What will change"),
    "document": _("Document"),
    "reference_documents": _("Reference documents"),
}
FREQUENCY_FIELDS = ["visits_per_year_admission", "visits_per_year_normal", "visits_per_year_reinforced",
                    "unannounced_share", "samples_per_year"]
REQUIREMENT_COMPARED = ["property_name", "test_method", "unit", "lower_limit", "upper_limit", "declared_tolerance",
                        "conformity_rule", "self_monitoring_every", "self_monitoring_basis", "sampled_externally",
                        "ocl_limit_a", "ocl_limit_b", "ocl_tonnes_a", "ocl_tonnes_b", "ocl_tonnes_c", "ocl_start_level",
                        "ocl_escalate_at_c", "finding_severity"]
CHECKLIST_COMPARED = ["text", "mandatory"]


def _show(value):
    """Decimals without trailing zeros (5.5000 → 5.5) for the side-by-side view."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f").rstrip("0")
    return value


def _diff_rows(old_rows, new_rows, key, fields):
    old = {getattr(r, key): r for r in old_rows}
    new = {getattr(r, key): r for r in new_rows}
    changed = []
    for k in old.keys() & new.keys():
        diffs = [(f, _show(getattr(old[k], f)), _show(getattr(new[k], f)))
                 for f in fields if getattr(old[k], f) != getattr(new[k], f)]
        if diffs:
            changed.append({"key": k, "old": old[k], "new": new[k], "fields": diffs})
    return {
        "added": [new[k] for k in new if k not in old],
        "removed": [old[k] for k in old if k not in new],
        "changed": sorted(changed, key=lambda c: (c["new"].order, c["key"])),
        "unchanged": sorted(old.keys() & new.keys() - {c["key"] for c in changed}),
    }


def compare_versions(old, new):
    """Side-by-side differences between two versions of a regulation (``old`` → ``new``)."""
    old_reqs = list(old.requirements.select_related("test_method"))
    new_reqs = list(new.requirements.select_related("test_method"))
    old_docs = set(old.reference_documents.all())
    new_docs = set(new.reference_documents.all())
    return {
        "old": old,
        "new": new,
        "frequencies": [(f, VERSION_FIELD_LABELS.get(f, RegulationVersion._meta.get_field(f).verbose_name),
                         _show(getattr(old, f)),
                         _show(getattr(new, f)))
                        for f in FREQUENCY_FIELDS if getattr(old, f) != getattr(new, f)],
        "requirements": _diff_rows(old_reqs, new_reqs, "property_code", REQUIREMENT_COMPARED),
        "checklist": _diff_rows(list(old.checklist.all()), list(new.checklist.all()), "code", CHECKLIST_COMPARED),
        "documents_added": sorted(new_docs - old_docs, key=str),
        "documents_removed": sorted(old_docs - new_docs, key=str),
    }


PLANNED_STATES = ("admission", "active", "suspended")


def inspection_plans(year, on_date=None):
    """The inspection plan of every live licence (admission, active, suspended) of the current body."""
    from licences.models import Licence

    licences = (Licence.objects.filter(state__in=PLANNED_STATES)
                .select_related("holder", "site", "regulation_version__regulation").order_by("number"))
    return [inspection_plan(licence, year, on_date=on_date) for licence in licences]
