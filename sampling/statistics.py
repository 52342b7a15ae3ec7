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

EN13108_21_WINDOW = 32  # the OCL is assessed on the last 32 results of the characteristic
EN13108_21_DEFAULT_START = "C"  # level applied while fewer than 32 results exist (unless the regulation says)


def ocl_level(mean_abs_deviation, limit_a, limit_b):
    """A if mean |deviation| ≤ limit_A, B if ≤ limit_B, else C (EN 13108-21 Annex A)."""
    if mean_abs_deviation <= limit_a:
        return "A"
    if mean_abs_deviation <= limit_b:
        return "B"
    return "C"


def en13108_21(values, target, limit_a, limit_b, *, start_level="", escalate_at_c=False):
    """Operating compliance level (OCL) of a characteristic from its last 32 results.

    deviation_i = x_i − target (the target composition);
    mean |deviation| = Σ|deviation_i| / 32 over the last 32 results;
    OCL A if ≤ limit_A, B if ≤ limit_B, else C (limits: the regulation's, per characteristic).
    With fewer than 32 results the level is the regulation's start level (C if none) and the verdict
    "insufficient"; the running mean is reported for information. The verdict is "fail" only when the
    regulation marks OCL C as a nonconformity (``escalate_at_c``); otherwise the OCL only sets the
    minimum test frequency.
    """
    if target is None:
        return Evaluation("insufficient", "No target composition (declared value) for EN 13108-21.")
    if limit_a is None or limit_b is None:
        return Evaluation("insufficient", "The regulation gives no OCL limits for this characteristic.")
    values = list(values)
    last = values[-EN13108_21_WINDOW:]
    n = len(last)
    deviations = [x - target for x in last]
    mean_dev = sum((abs(d) for d in deviations), Decimal(0)) / n if n else None
    mean_signed = sum(deviations, Decimal(0)) / n if n else None
    details = {"n": n, "window": EN13108_21_WINDOW, "target": _s(target), "limit_a": _s(limit_a),
               "limit_b": _s(limit_b), "mean_abs_deviation": _s(q(mean_dev)) if n else None,
               "mean_deviation": _s(q(mean_signed)) if n else None, "escalate_at_c": escalate_at_c}
    if n < EN13108_21_WINDOW:
        level = start_level or EN13108_21_DEFAULT_START
        details.update(provisional=True, start_level=level)
        so_far = f"; mean |deviation| so far {q(mean_dev)}" if n else ""
        return Evaluation("insufficient", f"OCL {level} (start level): {n} of {EN13108_21_WINDOW} results{so_far}.",
                          level=level, details=details)
    level = ocl_level(mean_dev, limit_a, limit_b)
    details["provisional"] = False
    verdict = "fail" if (level == "C" and escalate_at_c) else "pass"
    bound = {"A": f"≤ {limit_a} (A)", "B": f"> {limit_a}, ≤ {limit_b} (B)", "C": f"> {limit_b} (C)"}[level]
    summary = f"OCL {level}: mean |deviation| of the last 32 results {q(mean_dev)} {bound}."
    if verdict == "fail":
        summary += " The regulation treats OCL C as a nonconformity."
    return Evaluation(verdict, summary, level=level, details=details)


def current_ocl(values, target, limit_a, limit_b, start_level=""):
    """The level that sets the test frequency now: from the last 32 results, else the start level."""
    values = list(values)
    if target is None or limit_a is None or limit_b is None or len(values) < EN13108_21_WINDOW:
        return start_level or EN13108_21_DEFAULT_START
    last = values[-EN13108_21_WINDOW:]
    return ocl_level(sum((abs(x - target) for x in last), Decimal(0)) / len(last), limit_a, limit_b)


# ---------------------------------------------------------------- EN 206 8.2.1.3, Table 14 (method A)

EN206_INITIAL_N = 3  # initial production: groups of 3 results
EN206_CONTINUOUS_N = 15  # continuous production: the last 15 results
EN206_CONTINUOUS_AFTER = 35  # continuous production once 35 results exist (σ estimated from them)
EN206_C1_INITIAL_MARGIN = Decimal(4)  # criterion 1, initial: f_cm ≥ f_ck + 4
EN206_C1_SIGMA_FACTOR = Decimal("1.48")  # criterion 1, continuous: f_cm ≥ f_ck + 1.48 σ
EN206_C2_MARGIN = Decimal(4)  # criterion 2: every f_ci ≥ f_ck − 4
EN206_SIGMA_MIN = Decimal("3.0")  # σ is not taken below 3 N/mm²
EN206_S15_LOW = Decimal("0.63")  # σ still valid while 0.63 σ ≤ s15 ≤ 1.37 σ
EN206_S15_HIGH = Decimal("1.37")


def stdev(values):
    """Sample standard deviation (n − 1)."""
    n = len(values)
    mean = sum(values, Decimal(0)) / n
    return (sum(((x - mean) ** 2 for x in values), Decimal(0)) / (n - 1)).sqrt()


def en206(values, fck):
    """Conformity of compressive strength, EN 206 8.2.1.3, Table 14 (method A).

    Initial production (fewer than 35 results): the last n = 3 results,
      criterion 1: f_cm ≥ f_ck + 4;  criterion 2: every f_ci ≥ f_ck − 4.
    Continuous production (35 results or more): the last n = 15 results,
      σ = standard deviation of the last 35 results (not below 3 N/mm²),
      criterion 1: f_cm ≥ f_ck + 1.48 σ;  criterion 2: every f_ci ≥ f_ck − 4;
      σ check: s15 (standard deviation of the last 15) must lie in [0.63 σ, 1.37 σ], otherwise σ must be
      re-estimated (reported in the details and summary; the criteria are still applied with σ).
    """
    values = list(values)
    if fck is None:
        return Evaluation("insufficient", "No characteristic strength (lower limit) for EN 206.")
    if len(values) < EN206_INITIAL_N:
        return Evaluation("insufficient", f"{len(values)} results; EN 206 needs at least {EN206_INITIAL_N}.")
    sigma = s15 = None
    sigma_valid = None
    if len(values) < EN206_CONTINUOUS_AFTER:
        family = "initial"
        group = values[-EN206_INITIAL_N:]
        mean_limit = fck + EN206_C1_INITIAL_MARGIN
    else:
        family = "continuous"
        group = values[-EN206_CONTINUOUS_N:]
        sigma = max(stdev(values[-EN206_CONTINUOUS_AFTER:]), EN206_SIGMA_MIN)
        mean_limit = fck + EN206_C1_SIGMA_FACTOR * sigma
        s15 = stdev(group)
        sigma_valid = EN206_S15_LOW * sigma <= s15 <= EN206_S15_HIGH * sigma
    mean = sum(group, Decimal(0)) / len(group)
    individual_limit = fck - EN206_C2_MARGIN
    criterion_1 = mean >= mean_limit
    lowest = min(group)
    criterion_2 = lowest >= individual_limit
    details = {"family": family, "n": len(group), "fck": _s(fck), "mean": _s(q(mean)),
               "mean_limit": _s(q(mean_limit)), "sigma": _s(q(sigma)) if sigma is not None else None,
               "s15": _s(q(s15)) if s15 is not None else None,
               "s15_range": ([_s(q(EN206_S15_LOW * sigma)), _s(q(EN206_S15_HIGH * sigma))]
                             if sigma is not None else None),
               "sigma_valid": sigma_valid, "sigma_reestimate": sigma_valid is False,
               "lowest": _s(lowest), "individual_limit": _s(individual_limit),
               "criterion_1": criterion_1, "criterion_2": criterion_2}
    verdict = "pass" if criterion_1 and criterion_2 else "fail"
    summary = (f"EN 206 {family} production, n={len(group)}: mean {q(mean)} "
               f"{'≥' if criterion_1 else '<'} {q(mean_limit)} (criterion 1); lowest {lowest} "
               f"{'≥' if criterion_2 else '<'} {individual_limit} (criterion 2).")
    if sigma_valid is False:
        summary += (f" s15 = {q(s15)} outside [{q(EN206_S15_LOW * sigma)}, {q(EN206_S15_HIGH * sigma)}]: "
                    "σ must be re-estimated.")
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
