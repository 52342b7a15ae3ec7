"""Conformity statistics, as pure functions over Decimal values (no database).

Every rule the services apply lives here so it can be tested against hand-computed examples
(tests/test_sampling_statistics.py). See docs/sampling.md for the tables and clause references.
"""

import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

FOUR = Decimal("0.0001")


def q(value):
    return Decimal(value).quantize(FOUR, rounding=ROUND_HALF_UP)


@dataclass
class Evaluation:
    verdict: str  # "pass" | "fail" | "insufficient"
    summary: str
    level: str = ""
    details: dict = field(default_factory=dict)


# ---------------------------------------------------------------- individual limits

def within_limits(value, lower=None, upper=None):
    return (lower is None or value >= lower) and (upper is None or value <= upper)


def individual(values, lower=None, upper=None):
    failed = [i for i, value in enumerate(values) if not within_limits(value, lower, upper)]
    if not values:
        return Evaluation("insufficient", "No result.")
    verdict = "fail" if failed else "pass"
    return Evaluation(verdict, f"{len(values) - len(failed)} of {len(values)} results within limits.",
                      details={"failed_indexes": failed, "lower": _s(lower), "upper": _s(upper)})


def declared_value(values, target, tolerance):
    """Declared value ± tolerance (each result)."""
    if target is None or tolerance is None:
        return Evaluation("insufficient", "No declared value or tolerance.")
    return individual(values, target - tolerance, target + tolerance)


# ---------------------------------------------------------------- EN 13108-21 Annex A

EN13108_21_WINDOW = 32
# Operating compliance level from the mean absolute deviation from target of the last 32 results,
# as a fraction of the regulation's tolerance for the characteristic (see docs/sampling.md).
EN13108_21_LEVELS = [("A", Decimal("0.50")), ("B", Decimal("0.75")), ("C", Decimal("1.00"))]


def en13108_21(values, target, tolerance):
    """Operating compliance level (OCL) of the last 32 results.

    mean deviation  = Σ|x_i − target| / n over the last n ≤ 32 results;
    ratio           = mean deviation / tolerance;
    level A ≤ 0.50, B ≤ 0.75, C ≤ 1.00, D > 1.00 (D does not conform).
    Fewer than 32 results give a provisional level.
    """
    if target is None or not tolerance:
        return Evaluation("insufficient", "No target (declared value) or tolerance for EN 13108-21.")
    last = list(values)[-EN13108_21_WINDOW:]
    if not last:
        return Evaluation("insufficient", "No result.")
    n = len(last)
    mean_dev = sum((abs(x - target) for x in last), Decimal(0)) / n
    mean_signed = sum((x - target for x in last), Decimal(0)) / n
    ratio = mean_dev / tolerance
    level = next((name for name, limit in EN13108_21_LEVELS if ratio <= limit), "D")
    provisional = n < EN13108_21_WINDOW
    details = {"n": n, "target": _s(target), "tolerance": _s(tolerance), "mean_abs_deviation": _s(q(mean_dev)),
               "mean_deviation": _s(q(mean_signed)), "ratio": _s(q(ratio)), "provisional": provisional}
    verdict = "fail" if level == "D" else "pass"
    summary = (f"OCL {level}{' (provisional, ' + str(n) + ' results)' if provisional else ''}: "
               f"mean |deviation| {q(mean_dev)} = {q(ratio)} × tolerance {tolerance}.")
    return Evaluation(verdict, summary, level=level, details=details)


# ---------------------------------------------------------------- EN 206 8.2.1.3 (method A)

EN206_INITIAL_N = 3
EN206_CONTINUOUS_N = 15
EN206_CONTINUOUS_AFTER = 35
EN206_SIGMA_MIN = Decimal("3.0")


def stdev(values):
    """Sample standard deviation (n − 1)."""
    n = len(values)
    mean = sum(values, Decimal(0)) / n
    return (sum(((x - mean) ** 2 for x in values), Decimal(0)) / (n - 1)).sqrt()


def en206(values, fck):
    """Conformity of compressive strength, EN 206 8.2.1.3, Table 14 (method A).

    Initial production (fewer than 35 results): last n = 3 results,
      criterion 1: mean ≥ fck + 4;  criterion 2: each result ≥ fck − 4.
    Continuous production (35 results or more): last n = 15 results,
      criterion 1: mean ≥ fck + 1.48 σ, with σ the standard deviation of the last 35 results, not below 3 N/mm²;
      criterion 2: each result ≥ fck − 4.
    """
    values = list(values)
    if fck is None:
        return Evaluation("insufficient", "No characteristic strength (lower limit) for EN 206.")
    if len(values) < EN206_INITIAL_N:
        return Evaluation("insufficient", f"{len(values)} results; EN 206 needs at least {EN206_INITIAL_N}.")
    four = Decimal(4)
    if len(values) < EN206_CONTINUOUS_AFTER:
        family = "initial"
        group = values[-EN206_INITIAL_N:]
        sigma = None
        mean_limit = fck + four
    else:
        family = "continuous"
        group = values[-EN206_CONTINUOUS_N:]
        sigma = max(stdev(values[-EN206_CONTINUOUS_AFTER:]), EN206_SIGMA_MIN)
        mean_limit = fck + Decimal("1.48") * sigma
    mean = sum(group, Decimal(0)) / len(group)
    individual_limit = fck - four
    criterion_1 = mean >= mean_limit
    lowest = min(group)
    criterion_2 = lowest >= individual_limit
    details = {"family": family, "n": len(group), "fck": _s(fck), "mean": _s(q(mean)),
               "mean_limit": _s(q(mean_limit)), "sigma": _s(q(sigma)) if sigma is not None else None,
               "lowest": _s(lowest), "individual_limit": _s(individual_limit),
               "criterion_1": criterion_1, "criterion_2": criterion_2}
    verdict = "pass" if criterion_1 and criterion_2 else "fail"
    summary = (f"EN 206 {family} production, n={len(group)}: mean {q(mean)} "
               f"{'≥' if criterion_1 else '<'} {q(mean_limit)} (criterion 1); lowest {lowest} "
               f"{'≥' if criterion_2 else '<'} {individual_limit} (criterion 2).")
    return Evaluation(verdict, summary, details=details)


# ---------------------------------------------------------------- external vs holder comparison

COMPARISON_WINDOW_DAYS = 30
DEFAULT_RELATIVE_TOLERANCE = Decimal("0.05")


def comparison_tolerance(declared_tolerance, uncertainty, holder_mean):
    """declared_tolerance if the regulation gives one; else the lab's expanded uncertainty;
    else 5 % of the holder's mean."""
    if declared_tolerance:
        return declared_tolerance, "declared tolerance"
    if uncertainty:
        return uncertainty, "laboratory's expanded uncertainty"
    return abs(holder_mean) * DEFAULT_RELATIVE_TOLERANCE, "default 5 % of the holder's mean"


def compare(lab_value, holder_values, declared_tolerance=None, uncertainty=None):
    holder_values = list(holder_values)
    if not holder_values:
        return Evaluation("insufficient", "No self-monitoring result of the holder in the period to compare with.")
    mean = sum(holder_values, Decimal(0)) / len(holder_values)
    tolerance, basis = comparison_tolerance(declared_tolerance, uncertainty, mean)
    difference = lab_value - mean
    verdict = "pass" if abs(difference) <= tolerance else "fail"
    summary = (f"External {lab_value} vs holder mean {q(mean)} of {len(holder_values)} results: "
               f"difference {q(difference)} {'within' if verdict == 'pass' else 'beyond'} ± {q(tolerance)} ({basis}).")
    return Evaluation(verdict, summary, details={"holder_mean": _s(q(mean)), "n": len(holder_values),
                                                 "difference": _s(q(difference)), "tolerance": _s(q(tolerance)),
                                                 "tolerance_basis": basis})


# ---------------------------------------------------------------- self-monitoring frequency

def expected_tests(basis, every, *, tonnes=Decimal(0), batches=0, production_days=0, period_days=0):
    """One test per started block of `every` units of the basis (ceil): 1 per 500 t over 1 200 t → 3."""
    if not every or not basis:
        return None
    quantity = {"tonnes": tonnes, "batches": batches, "days": production_days,
                "weeks": Decimal(period_days) / 7}.get(basis)
    if quantity is None:
        return None
    return math.ceil(Decimal(quantity) / Decimal(every))


# ---------------------------------------------------------------- plausibility of a value

PLAUSIBLE_FACTOR = Decimal(2)


def plausible_range(lower, upper):
    """[lo − 2·span, hi + 2·span], span = max(hi − lo, |lo|, |hi|); never below 0 when the limits are ≥ 0."""
    lo = lower if lower is not None else upper
    hi = upper if upper is not None else lower
    if lo is None:
        return None, None
    span = max(hi - lo, abs(lo), abs(hi))
    if span == 0:
        return None, None
    low, high = lo - PLAUSIBLE_FACTOR * span, hi + PLAUSIBLE_FACTOR * span
    if lo >= 0:
        low = max(low, Decimal(0))
    return low, high


def _s(value):
    return None if value is None else str(value)
