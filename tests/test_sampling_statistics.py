"""The conformity statistics against examples computed by hand (arithmetic written out)."""

from decimal import Decimal as D

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


def test_en13108_21_level_a_provisional():
    # target 5.0, tolerance 0.3; |5.1−5|+|4.9−5|+|5.2−5|+|4.8−5| = .1+.1+.2+.2 = .6; mean .6/4 = .15
    # ratio .15/.3 = .50 → level A (≤ 0.50); 4 < 32 results → provisional
    evaluation = st.en13108_21([D("5.1"), D("4.9"), D("5.2"), D("4.8")], D("5.0"), D("0.3"))
    assert evaluation.level == "A" and evaluation.verdict == "pass"
    assert evaluation.details["mean_abs_deviation"] == "0.1500"
    assert evaluation.details["ratio"] == "0.5000"
    assert evaluation.details["mean_deviation"] == "0.0000"  # (.1 − .1 + .2 − .2) / 4
    assert evaluation.details["provisional"] is True


def test_en13108_21_level_c_over_32_results():
    # 16 × 5.3 (|dev| .3) and 16 × 4.8 (|dev| .2): mean |dev| = (16×.3 + 16×.2)/32 = 8/32 = .25
    # ratio .25/.3 = .8333 → above .75 (B), within 1.00 → C; signed mean = (16×.3 − 16×.2)/32 = .05
    values = [D("5.3")] * 16 + [D("4.8")] * 16
    evaluation = st.en13108_21(values, D("5.0"), D("0.3"))
    assert (evaluation.level, evaluation.verdict) == ("C", "pass")
    assert evaluation.details["ratio"] == "0.8333"
    assert evaluation.details["mean_deviation"] == "0.0500"
    assert evaluation.details["provisional"] is False


def test_en13108_21_level_d_fails_and_only_last_32_count():
    # all 5.4: mean |dev| .4, ratio .4/.3 = 1.3333 > 1 → D, does not conform
    assert st.en13108_21([D("5.4")] * 32, D("5.0"), D("0.3")).level == "D"
    assert st.en13108_21([D("5.4")] * 32, D("5.0"), D("0.3")).verdict == "fail"
    # 8 old results far off, then 32 on target: only the last 32 count → mean |dev| 0 → A
    evaluation = st.en13108_21([D("9")] * 8 + [D("5.0")] * 32, D("5.0"), D("0.3"))
    assert evaluation.level == "A" and evaluation.details["n"] == 32
    # level B: 32 × 5.2 → ratio .2/.3 = .6667 (between .50 and .75)
    assert st.en13108_21([D("5.2")] * 32, D("5.0"), D("0.3")).level == "B"


def test_en206_initial_production_criteria():
    fck = D(30)
    # n = 3: mean (33+35+34)/3 = 34 ≥ fck + 4 = 34 ✓; lowest 33 ≥ fck − 4 = 26 ✓
    assert st.en206([D(33), D(35), D(34)], fck).verdict == "pass"
    # mean (33+34+34)/3 = 33.667 < 34 → criterion 1 fails
    evaluation = st.en206([D(33), D(34), D(34)], fck)
    assert evaluation.verdict == "fail" and evaluation.details["criterion_1"] is False
    assert evaluation.details["mean"] == "33.6667"
    # mean (40+40+25)/3 = 35 ≥ 34 ✓ but 25 < 26 → criterion 2 fails
    evaluation = st.en206([D(40), D(40), D(25)], fck)
    assert evaluation.details["criterion_1"] is True and evaluation.details["criterion_2"] is False
    assert evaluation.verdict == "fail"
    # only the last 3 count while in initial production
    assert st.en206([D(10), D(33), D(35), D(34)], fck).verdict == "pass"
    assert st.en206([D(40), D(40)], fck).verdict == "insufficient"


def test_en206_continuous_production_with_sigma():
    fck = D(30)
    # 35 results: 10 × 34 and 10 × 40 first, then the last 15 = 7 × (34, 40) and 37.
    # Overall 17 × 34, 17 × 40, 1 × 37: mean = (578 + 680 + 37)/35 = 1295/35 = 37
    # Σ(x − 37)² = 17×9 + 17×9 + 0 = 306; s² = 306/34 = 9; σ = 3.0
    # criterion 1: mean of last 15 = (7×34 + 7×40 + 37)/15 = 555/15 = 37.0 ≥ 30 + 1.48×3 = 34.44 ✓
    # criterion 2: lowest 34 ≥ 26 ✓
    values = [D(34), D(40)] * 10 + [D(34), D(40)] * 7 + [D(37)]
    assert len(values) == 35
    evaluation = st.en206(values, fck)
    assert evaluation.details["family"] == "continuous"
    assert evaluation.details["sigma"] == "3.0000"
    assert evaluation.details["mean"] == "37.0000"
    assert evaluation.details["mean_limit"] == "34.4400"
    assert evaluation.verdict == "pass"


def test_en206_sigma_is_not_taken_below_3():
    fck = D(30)
    # 17 × 33, 17 × 35, 1 × 34: mean 34, Σ(x−34)² = 34 × 1 = 34, s² = 34/34 = 1, σ = 1 → taken as 3
    # last 15 = 7 × (33, 35) + 34: mean = (231 + 245 + 34)/15 = 510/15 = 34.0
    # with σ = 3: limit 30 + 4.44 = 34.44 → 34.0 fails (it would pass with σ = 1: limit 31.48)
    values = [D(33), D(35)] * 10 + [D(33), D(35)] * 7 + [D(34)]
    evaluation = st.en206(values, fck)
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
