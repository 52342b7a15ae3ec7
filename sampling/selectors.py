"""Read paths of sampling/ (always through the tenant-scoped managers)."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Max

from licences.models import Product
from sampling import statistics
from sampling.models import ConformityOutcome, LabResult, Sample, SelfMonitoringResult
from sampling.services import _limits, requirement_for


def samples_for_lab(user):
    """Samples sent to the user's laboratory (scope) on which they hold the object grant (guardian)."""
    from guardian.shortcuts import get_objects_for_user

    api_key = getattr(user, "api_key", None)
    if api_key is not None:
        # A laboratory's API key is no person holding grants: it sees the samples dispatched to its lab.
        return (Sample.objects.select_related("product")
                .filter(laboratory_id=api_key.laboratory_id, laboratory__isnull=False).exclude(state=Sample.State.TAKEN)
                .order_by("-taken_at", "-id"))
    return get_objects_for_user(user, "sampling.view_sample", klass=Sample.objects.select_related("product"),
                                accept_global_perms=False).order_by("-taken_at", "-id")


def samples_for_staff():
    return Sample.objects.select_related("product", "licence", "laboratory", "visit")


def outcomes_for_staff():
    return ConformityOutcome.objects.select_related(
        "product", "requirement", "holder", "sample", "decided_by", "finding__visit", "sample_request__fulfilled_by",
        "planned_visit", "sanction")


def products_of(holder):
    return Product.objects.filter(holder=holder).order_by("commercial_name", "pk")


@dataclass
class FrequencyLine:
    requirement: object
    expected: int | None
    recorded: int
    every: Decimal | None = None  # one test per `every` units of `basis`
    basis: str = ""
    level: str = ""  # EN 13108-21 OCL that set the frequency (empty: the regulation's fixed frequency)

    @property
    def missing(self):
        return max(self.expected - self.recorded, 0) if self.expected is not None else 0


def frequency_check(product, date_from, date_to):
    """Expected self-monitoring tests per property (from self_monitoring_every/basis) vs recorded.

    Production in the period comes from the results themselves: tonnes = Σ over distinct batches of the
    batch's tonnage (largest value given for the batch), batches = number of distinct batches,
    production days = distinct test dates of the product; weeks are calendar weeks of the period.
    """
    results = SelfMonitoringResult.objects.filter(product=product, tested_on__range=(date_from, date_to))
    per_batch = results.exclude(batch="").values("batch").annotate(t=Max("tonnage"))
    tonnes = sum((row["t"] or Decimal(0) for row in per_batch), Decimal(0))
    batches = len(per_batch)
    production_days = results.values("tested_on").distinct().count()
    period_days = (date_to - date_from).days + 1
    counts = {}
    for code in results.values_list("property_code", flat=True):
        counts[code] = counts.get(code, 0) + 1
    lines = []
    for requirement in _requirements(product):
        every, basis, level = ocl_frequency(product, requirement, date_to)
        if every is None:
            every, basis = requirement.self_monitoring_every, requirement.self_monitoring_basis
        expected = statistics.expected_tests(basis, every, tonnes=tonnes, batches=batches,
                                             production_days=production_days, period_days=period_days)
        lines.append(FrequencyLine(requirement, expected, counts.get(requirement.property_code, 0), every=every,
                                   basis=basis, level=level))
    return lines


def output_level(product):
    """The producer's output level (X/Y/Z) for EN 13108-21 frequencies: the product's declared
    ``output_level``; X (the most frequent testing) when not declared."""
    level = str((product.declared_characteristics or {}).get("output_level", "X")).strip().upper()
    return level if level in ("X", "Y", "Z") else "X"


def ocl_frequency(product, requirement, until):
    """(tonnes per test, "tonnes", OCL) under EN 13108-21 when the regulation gives the OCL frequencies,
    else (None, "", ""). The OCL comes from the last 32 results up to ``until``; with fewer, the regulation's
    start level (C if none)."""
    from marks.models import Requirement
    from sampling.services import declared_target

    if requirement.conformity_rule != Requirement.ConformityRule.EN_13108_21:
        return None, "", ""
    values = list(SelfMonitoringResult.objects.filter(
        product=product, property_code=requirement.property_code, tested_on__lte=until,
    ).order_by("-tested_on", "-id").values_list("value", flat=True)[:statistics.EN13108_21_WINDOW])[::-1]
    level = statistics.current_ocl(values, declared_target(requirement, product), requirement.ocl_limit_a,
                                   requirement.ocl_limit_b, requirement.ocl_start_level)
    every = requirement.ocl_tonnes_per_test(level, output_level(product))
    if every is None:
        return None, "", ""
    return every, Requirement.FrequencyBasis.TONNES, level


def _requirements(product):
    from licences.models import Licence
    from marks.models import Requirement

    licence = Licence.objects.filter(products=product).order_by("-created_at", "-pk").first()
    if licence is None:
        return []
    return list(Requirement.objects.filter(version=licence.regulation_version_id))


def chart_series(product, property_code, limit=200):
    """Points (date, value, failed, source) of the holder's and the labs' results, with the limits."""
    requirement = requirement_for(product, property_code)
    if requirement is None:
        return None
    lower, upper = _limits(requirement, product)
    own = SelfMonitoringResult.objects.filter(product=product, property_code=property_code)
    own = list(own.order_by("-tested_on", "-id").values_list("tested_on", "value")[:limit])[::-1]
    lab = LabResult.objects.filter(sample__product=product, property_code=property_code,
                                   superseded_by__isnull=True).values_list("tested_on", "value")
    points = [(d, v, not statistics.within_limits(v, lower, upper), "self") for d, v in own]
    points += [(d, v, not statistics.within_limits(v, lower, upper), "lab") for d, v in lab]
    points.sort(key=lambda p: p[0])
    return {"requirement": requirement, "lower": lower, "upper": upper, "points": points}


def laboratories_for_staff():
    from sampling.models import Laboratory

    return Laboratory.objects.prefetch_related("test_methods").order_by("name", "pk")
