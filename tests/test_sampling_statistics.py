"""The conformity statistics against examples computed by hand (arithmetic written out)."""

from decimal import Decimal as D

import pytest

from marks.models import Requirement, parse_tonnes_per_test
from sampling import statistics as st


def test_individual_limits_flag_each_failing_result():
    # limits [4.5, 5.5]: 4.4 < 4.5 fails, 5.6 > 5.5 fails, 4.5 and 5.5 are on the limits and pass
    evaluation = st.individual([D("4.4"), D("4.5"), D("5.5"), D("5.6")], D("4.5"), D("5.5"))
    assert evaluation.verdict == "fail"
    assert evaluation.details["failed_indexes"] == [0, 3]
    assert st.individual([D("5.0")], D("4.5"), D("5.5")).verdict == "pass"
    assert st.individual([], D("4.5"), D("5.5")).verdict == "insufficient"


def test_declared_value_plus_minus_tolerance():
    # declared 5.0 ± 0.3 → [4.7, 5.3]; 5.31 fails
    assert st.declared_value([D("4.7"), D("5.3")], D("5.0"), D("0.3")).verdict == "pass"
    assert st.declared_value([D("5.31")], D("5.0"), D("0.3")).verdict == "fail"


# EN 13108-21 Annex A, binder content: target composition 5.0 % (declared), limits A 0.25, B 0.35 (TRA 11).
TARGET = D("5.0")
BINDER_A, BINDER_B = D("0.25"), D("0.35")


def _values(target, deviations):
    return [target + d for d in deviations]


def test_en13108_21_ocl_a_from_32_deviations():
    # deviations (result − 5.0), the block of 8 written out, repeated 4 times = 32 results:
    #   +0.10 −0.20 +0.30 −0.10 +0.20 −0.30 0.00 +0.10
    #   Σ|d| per block = .1+.2+.3+.1+.2+.3+0+.1 = 1.3;  × 4 = 5.2;  mean |d| = 5.2 / 32 = 0.1625
    #   0.1625 ≤ 0.25 (limit A) → OCL A.  Σd per block = .1; × 4 = .4; mean d = .4 / 32 = 0.0125
    block = [D("0.10"), D("-0.20"), D("0.30"), D("-0.10"), D("0.20"), D("-0.30"), D("0.00"), D("0.10")]
    evaluation = st.en13108_21(_values(TARGET, block * 4), TARGET, BINDER_A, BINDER_B)
    assert (evaluation.level, evaluation.verdict) == ("A", "pass")
    assert evaluation.details["mean_abs_deviation"] == "0.1625"
    assert evaluation.details["mean_deviation"] == "0.0125"
    assert evaluation.details["n"] == 32 and evaluation.details["provisional"] is False


def test_en13108_21_boundary_exactly_at_limit_a_is_a():
    # deviations +0.20, −0.30 alternating, 16 pairs = 32 results:
    #   Σ|d| = 16 × (0.20 + 0.30) = 8.00;  mean |d| = 8.00 / 32 = 0.25 = limit A → A (≤)
    deviations = [D("0.20"), D("-0.30")] * 16
    evaluation = st.en13108_21(_values(TARGET, deviations), TARGET, BINDER_A, BINDER_B)
    assert evaluation.level == "A" and evaluation.details["mean_abs_deviation"] == "0.2500"
    # one deviation 0.01 larger (−0.31 instead of −0.30 in the last result):
    #   Σ|d| = 8.01; mean = 8.01 / 32 = 0.2503125 > 0.25 and ≤ 0.35 → B
    deviations[-1] = D("-0.31")
    evaluation = st.en13108_21(_values(TARGET, deviations), TARGET, BINDER_A, BINDER_B)
    assert evaluation.level == "B" and evaluation.details["mean_abs_deviation"] == "0.2503"
    # exactly at limit B: ±0.35 × 32 → Σ|d| = 11.2, mean 0.35 → B (≤)
    assert st.en13108_21(_values(TARGET, [D("0.35"), D("-0.35")] * 16), TARGET, BINDER_A, BINDER_B).level == "B"


def test_en13108_21_ocl_c_grading_2mm():
    # passing 2 mm: target 33.0 %, limits A 3.0, B 4.0 (TRA 11). Deviations, block of 4 repeated 8 times:
    #   +5 −4 +3 −6:  Σ|d| per block = 18;  × 8 = 144;  mean |d| = 144 / 32 = 4.5 > 4.0 (limit B) → OCL C
    #   Σd per block = −2; × 8 = −16; mean d = −0.5
    target, a, b = D("33.0"), D("3.0"), D("4.0")
    deviations = [D(5), D(-4), D(3), D(-6)] * 8
    evaluation = st.en13108_21(_values(target, deviations), target, a, b)
    assert (evaluation.level, evaluation.verdict) == ("C", "pass")  # C only sets the test frequency…
    assert evaluation.details["mean_abs_deviation"] == "4.5000"
    assert evaluation.details["mean_deviation"] == "-0.5000"
    # …unless the regulation marks OCL C as a nonconformity
    evaluation = st.en13108_21(_values(target, deviations), target, a, b, escalate_at_c=True)
    assert (evaluation.level, evaluation.verdict) == ("C", "fail")


def test_en13108_21_sliding_window_drops_the_first_result():
    # results 1..32: deviations +0.20, −0.30 alternating (the boundary case): mean |d| = 8.00 / 32 = 0.25 → A.
    first_32 = [D("0.20"), D("-0.30")] * 16
    # the 33rd result, deviation +0.30: the window is results 2..33 — the first (+0.20) drops out:
    #   Σ|d| = 8.00 − 0.20 + 0.30 = 8.10;  mean = 8.10 / 32 = 0.253125 > 0.25 → B
    evaluation = st.en13108_21(_values(TARGET, first_32 + [D("0.30")]), TARGET, BINDER_A, BINDER_B)
    assert evaluation.level == "B" and evaluation.details["n"] == 32
    assert evaluation.details["mean_abs_deviation"] == "0.2531"
    # the 33rd result, deviation −0.20: Σ|d| = 8.00 − 0.20 + 0.20 = 8.00 → mean 0.25 → still A
    assert st.en13108_21(_values(TARGET, first_32 + [D("-0.20")]), TARGET, BINDER_A, BINDER_B).level == "A"
    # 8 old results far off (+4.0) then the 32 of the A case: only the last 32 count → A
    block = [D("0.10"), D("-0.20"), D("0.30"), D("-0.10"), D("0.20"), D("-0.30"), D("0.00"), D("0.10")]
    evaluation = st.en13108_21(_values(TARGET, [D(4)] * 8 + block * 4), TARGET, BINDER_A, BINDER_B)
    assert evaluation.level == "A" and evaluation.details["mean_abs_deviation"] == "0.1625"


def test_en13108_21_fewer_than_32_results_start_at_c_or_the_regulations_start_level():
    # 4 results +0.1, −0.1, +0.2, −0.2: mean |d| = .6 / 4 = .15 so far, but 4 < 32 → the start level
    values = _values(TARGET, [D("0.1"), D("-0.1"), D("0.2"), D("-0.2")])
    evaluation = st.en13108_21(values, TARGET, BINDER_A, BINDER_B)
    assert (evaluation.level, evaluation.verdict) == ("C", "insufficient")
    assert evaluation.details["mean_abs_deviation"] == "0.1500" and evaluation.details["provisional"] is True
    assert st.en13108_21(values, TARGET, BINDER_A, BINDER_B, start_level="B").level == "B"
    assert st.current_ocl(values, TARGET, BINDER_A, BINDER_B) == "C"
    assert st.en13108_21(values, TARGET, None, None).verdict == "insufficient"  # no OCL limits in the regulation


def test_en13108_21_frequency_follows_the_ocl():
    # TRA 11 minimum frequency, tonnes of mix per test at output levels X/Y/Z:
    #   OCL A 600/1000/2000, B 300/500/1000, C 150/250/500
    req = Requirement(ocl_tonnes_a="600/1000/2000", ocl_tonnes_b="300/500/1000", ocl_tonnes_c="150/250/500")
    # the A case above (mean |d| 0.1625) at output level Y: 1 test per 1 000 t; 4 800 t → ceil(4.8) = 5 tests
    block = [D("0.10"), D("-0.20"), D("0.30"), D("-0.10"), D("0.20"), D("-0.30"), D("0.00"), D("0.10")]
    level = st.current_ocl(_values(TARGET, block * 4), TARGET, BINDER_A, BINDER_B)
    assert level == "A" and req.ocl_tonnes_per_test(level, "Y") == D(1000)
    assert st.expected_tests("tonnes", req.ocl_tonnes_per_test(level, "Y"), tonnes=D(4800)) == 5
    # the sliding-window case that fell to B: 1 per 500 t at Y → ceil(9.6) = 10 tests
    level = st.current_ocl(_values(TARGET, [D("0.20"), D("-0.30")] * 16 + [D("0.30")]), TARGET, BINDER_A, BINDER_B)
    assert level == "B" and st.expected_tests("tonnes", req.ocl_tonnes_per_test(level, "Y"), tonnes=D(4800)) == 10
    # fewer than 32 results → C: 1 per 250 t at Y → ceil(19.2) = 20; at X 1 per 150 t → ceil(32) = 32
    level = st.current_ocl(_values(TARGET, block), TARGET, BINDER_A, BINDER_B)
    assert level == "C" and st.expected_tests("tonnes", req.ocl_tonnes_per_test(level, "Y"), tonnes=D(4800)) == 20
    assert st.expected_tests("tonnes", req.ocl_tonnes_per_test("C", "X"), tonnes=D(4800)) == 32


def test_tonnes_per_test_parsing():
    assert parse_tonnes_per_test("600/1000/2000") == [D(600), D(1000), D(2000)]
    assert parse_tonnes_per_test("500") == [D(500)] * 3
    assert parse_tonnes_per_test("") is None
    for bad in ("600/1000", "a/b/c", "0/1/2", "-5"):
        with pytest.raises(ValueError):
            parse_tonnes_per_test(bad)


# EN 206 8.2.1.3, Table 14, method A; fck = 30 N/mm² (C30/37)
FCK = D(30)


def test_en206_initial_production_pass():
    # n = 3 (fewer than 35 results): f_cm = (33 + 35 + 34) / 3 = 34 ≥ fck + 4 = 34 ✓ (criterion 1)
    # lowest 33 ≥ fck − 4 = 26 ✓ (criterion 2)
    evaluation = st.en206([D(33), D(35), D(34)], FCK)
    assert evaluation.verdict == "pass" and evaluation.details["family"] == "initial"
    assert (evaluation.details["mean"], evaluation.details["mean_limit"]) == ("34.0000", "34.0000")
    assert st.en206([D(10), D(33), D(35), D(34)], FCK).verdict == "pass"  # only the last 3 count
    assert st.en206([D(40), D(40)], FCK).verdict == "insufficient"


def test_en206_initial_production_fails_criterion_1():
    # f_cm = (33 + 34 + 34) / 3 = 101 / 3 = 33.6667 < 34 ✗; lowest 33 ≥ 26 ✓
    evaluation = st.en206([D(33), D(34), D(34)], FCK)
    assert evaluation.verdict == "fail"
    assert evaluation.details["criterion_1"] is False and evaluation.details["criterion_2"] is True
    assert evaluation.details["mean"] == "33.6667"


def test_en206_fails_criterion_2():
    # f_cm = (40 + 40 + 25) / 3 = 35 ≥ 34 ✓; lowest 25 < fck − 4 = 26 ✗
    evaluation = st.en206([D(40), D(40), D(25)], FCK)
    assert evaluation.details["criterion_1"] is True and evaluation.details["criterion_2"] is False
    assert evaluation.verdict == "fail" and evaluation.details["individual_limit"] == "26"


def test_en206_continuous_production_pass_with_valid_sigma():
    # 35 results: 10 × (34, 40), then the last 15 = 7 × (34, 40) + 37.
    # σ from the 35: 17 × 34, 17 × 40, 1 × 37; mean = (578 + 680 + 37) / 35 = 1295 / 35 = 37
    #   Σ(x − 37)² = 17 × 9 + 17 × 9 + 0 = 306; s² = 306 / 34 = 9; σ = 3.0 (not below 3)
    # criterion 1: f_cm of the last 15 = (7 × 34 + 7 × 40 + 37) / 15 = 555 / 15 = 37.0 ≥ 30 + 1.48 × 3 = 34.44 ✓
    # criterion 2: lowest 34 ≥ 26 ✓
    # σ check: s15² = (14 × 9 + 0) / 14 = 9 → s15 = 3.0 in [0.63 × 3, 1.37 × 3] = [1.89, 4.11] ✓
    values = [D(34), D(40)] * 10 + [D(34), D(40)] * 7 + [D(37)]
    assert len(values) == 35
    evaluation = st.en206(values, FCK)
    assert evaluation.details["family"] == "continuous" and evaluation.details["n"] == 15
    assert evaluation.details["sigma"] == "3.0000" and evaluation.details["s15"] == "3.0000"
    assert evaluation.details["s15_range"] == ["1.8900", "4.1100"]
    assert evaluation.details["mean"] == "37.0000" and evaluation.details["mean_limit"] == "34.4400"
    assert evaluation.details["sigma_valid"] is True and evaluation.details["sigma_reestimate"] is False
    assert evaluation.verdict == "pass"
    # 34 results are still initial production (last 3: 40, 34, 40 → mean 38 ≥ 34)
    assert st.en206(values[:34], FCK).details["family"] == "initial"


def test_en206_continuous_with_s15_out_of_range_asks_to_reestimate_sigma():
    # 35 results: 10 × (32, 44), then the last 15 = 7 × (37, 39) + 38. Mean of the 35 = 38.
    #   Σ(x − 38)² = 20 × 36 + 14 × 1 + 0 = 734; s² = 734 / 34 = 21.5882; σ = √21.5882 = 4.6463
    # last 15: f_cm = (7 × 37 + 7 × 39 + 38) / 15 = 570 / 15 = 38; s15² = 14 × 1 / 14 = 1 → s15 = 1.0
    # σ check: [0.63 × 4.6463, 1.37 × 4.6463] = [2.9272, 6.3655]; 1.0 < 2.9272 → σ must be re-estimated
    # criteria still applied with σ: 38 ≥ 30 + 1.48 × 4.6463 = 36.8765 ✓; lowest 37 ≥ 26 ✓
    values = [D(32), D(44)] * 10 + [D(37), D(39)] * 7 + [D(38)]
    evaluation = st.en206(values, FCK)
    assert evaluation.details["sigma"] == "4.6463" and evaluation.details["s15"] == "1.0000"
    assert evaluation.details["s15_range"] == ["2.9272", "6.3655"]
    assert evaluation.details["sigma_valid"] is False and evaluation.details["sigma_reestimate"] is True
    assert evaluation.details["mean_limit"] == "36.8765" and evaluation.verdict == "pass"
    assert "σ must be re-estimated" in evaluation.summary


def test_en206_sigma_is_not_taken_below_3():
    # 17 × 33, 17 × 35, 1 × 34: mean 34, Σ(x−34)² = 34 × 1 = 34, s² = 34/34 = 1, σ = 1 → taken as 3
    # last 15 = 7 × (33, 35) + 34: mean = (231 + 245 + 34)/15 = 510/15 = 34.0
    # with σ = 3: limit 30 + 4.44 = 34.44 → 34.0 fails (it would pass with σ = 1: limit 31.48)
    values = [D(33), D(35)] * 10 + [D(33), D(35)] * 7 + [D(34)]
    evaluation = st.en206(values, FCK)
    assert evaluation.details["sigma"] == "3.0000"
    assert evaluation.details["mean"] == "34.0000"
    assert evaluation.verdict == "fail" and evaluation.details["criterion_1"] is False
    assert evaluation.details["criterion_2"] is True


def test_comparison_with_the_holders_results():
    holder = [D("5.02"), D("4.96"), D("5.05"), D("4.98"), D("5.01"), D("5.03")]
    # Σ = 30.05; mean = 30.05/6 = 5.008333; 5.62 − 5.008333 = 0.611667 > declared tolerance 0.3 → fail
    evaluation = st.compare(D("5.62"), holder, declared_tolerance=D("0.3"), uncertainty=D("0.1"))
    assert evaluation.verdict == "fail"
    assert evaluation.details["holder_mean"] == "5.0083"
    assert evaluation.details["difference"] == "0.6117"
    assert evaluation.details["tolerance_basis"] == "declared tolerance"
    # 5.2 − 5.008333 = 0.191667 ≤ 0.3 → pass
    assert st.compare(D("5.2"), holder, declared_tolerance=D("0.3")).verdict == "pass"
    # no declared tolerance: lab uncertainty 0.1 → 0.191667 > 0.1 → fail
    assert st.compare(D("5.2"), holder, uncertainty=D("0.1")).verdict == "fail"
    # neither: 5 % of the holder mean = 0.250417 → 0.191667 within → pass
    evaluation = st.compare(D("5.2"), holder)
    assert evaluation.verdict == "pass" and evaluation.details["tolerance"] == "0.2504"
    assert st.compare(D("5.2"), []).verdict == "insufficient"


def test_expected_tests_per_basis():
    # 1 per 500 t over 1 200 t → ceil(2.4) = 3; 1 per 500 t over 1 000 t → 2
    assert st.expected_tests("tonnes", D(500), tonnes=D(1200)) == 3
    assert st.expected_tests("tonnes", D(500), tonnes=D(1000)) == 2
    # 1 per 2 batches, 5 batches → ceil(2.5) = 3; 1 per week over 28 days → 4; 1 per day over 10 days → 10
    assert st.expected_tests("batches", D(2), batches=5) == 3
    assert st.expected_tests("weeks", D(1), period_days=28) == 4
    assert st.expected_tests("days", D(1), production_days=10) == 10
    assert st.expected_tests("", None) is None


def test_plausible_range():
    # limits [4.5, 5.5]: span = max(1.0, 4.5, 5.5) = 5.5 → [4.5 − 11, 5.5 + 11] = [−6.5 → 0, 16.5]
    assert st.plausible_range(D("4.5"), D("5.5")) == (D(0), D("16.5"))
    # lower only 30: span 30 → [30 − 60 → 0, 30 + 60] = [0, 90]
    assert st.plausible_range(D(30), None) == (D(0), D(90))
    assert st.plausible_range(None, None) == (None, None)
