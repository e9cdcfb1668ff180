"""Period comparisons and the false-discovery correction, checked against figures worked out elsewhere:
Newcombe's published examples, scipy's Welch test, a hand-computed NPS difference, and simulation."""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import astuple

import numpy as np
import pytest
from scipy import stats

from voc.analytics.comparisons import (
    NO_ANSWERS,
    NO_VARIANCE,
    TOO_FEW,
    Difference,
    WeightedSums,
    benjamini_hochberg,
    ces_change,
    csat_change,
    mean_difference,
    newcombe_interval,
    nps_change,
    nps_difference,
    nps_interval,
    proportion_difference,
    proportion_p_value,
    weighted_mean_p_value,
    welch_degrees_of_freedom,
    welch_interval,
)

# Newcombe RG (1998), "Interval estimation for the difference between independent proportions: comparison
# of eleven methods", Statistics in Medicine 17:873–890, Table II, method 10 (score, no continuity correction).
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize(("counts", "published"), NEWCOMBE_TABLE_II)
def test_newcombe_interval_reproduces_his_table_ii(counts, published):
    low, high = newcombe_interval(*counts)
    assert (round(low, 4), round(high, 4)) == published


def test_a_proportion_change_uses_newcombe_and_is_significant_when_the_interval_excludes_zero():
    change = proportion_difference(56, 70, 48, 80)
    assert change.delta == pytest.approx(0.2) and (change.n_now, change.n_before) == (70, 80)
    assert (round(change.low, 4), round(change.high, 4)) == (0.0524, 0.3339) and change.significant
    assert change.reason is None
    points = csat_change({5: 40, 4: 16, 2: 14}, {5: 30, 4: 18, 1: 32})  # the same 56/70 vs 48/80, in points
    assert (round(points.low, 2), round(points.high, 2)) == (5.24, 33.39) and points.delta == pytest.approx(20)


WELCH_SAMPLES = [
    ([3, 4, 5, 5, 6, 7, 7, 7, 2, 5, 6, 4] * 3, [1, 2, 3, 4, 4, 5, 3, 2] * 5),
    ([5.5, 6.1, 4.8, 7.0, 6.6, 5.9, 6.3, 4.1, 5.0, 6.8] * 4, [5.2, 5.4, 5.1, 5.3, 5.6, 5.0] * 7),
    ([1, 7, 1, 7, 2, 6, 4, 4, 3, 5] * 3, [4] * 29 + [5]),  # unequal variances, one side nearly constant
]


@pytest.mark.parametrize(("now", "before"), WELCH_SAMPLES)
def test_welch_interval_and_degrees_of_freedom_match_scipy(now, before):
    def moments(sample: list[float]) -> tuple[float, float, int]:
        mean = sum(sample) / len(sample)
        return mean, sum((x - mean) ** 2 for x in sample) / (len(sample) - 1), len(sample)

    result = stats.ttest_ind(now, before, equal_var=False)
    expected = result.confidence_interval(0.95)
    low, high = welch_interval(*moments(now), *moments(before))
    assert low == pytest.approx(expected.low, abs=1e-9) and high == pytest.approx(expected.high, abs=1e-9)
    (m1, v1, n1), (m2, v2, n2) = moments(now), moments(before)
    assert welch_degrees_of_freedom(v1, n1, v2, n2) == pytest.approx(result.df, rel=1e-12)
    change = mean_difference(m1, v1, n1, m2, v2, n2)
    assert change.significant == (result.pvalue < 0.05)


def test_ces_change_is_welch_on_the_answers_behind_the_counts():
    now, before = Counter([7, 6, 6, 5, 5, 5, 4, 3] * 5), Counter([6, 5, 4, 4, 4, 3, 3, 2, 1] * 4)
    expected = stats.ttest_ind(list(now.elements()), list(before.elements()), equal_var=False)
    change = ces_change(now, before)
    interval = expected.confidence_interval(0.95)
    assert (change.low, change.high) == pytest.approx((interval.low, interval.high), abs=1e-9)
    assert (change.n_now, change.n_before) == (40, 36) and change.significant


def test_nps_difference_matches_a_hand_computed_example():
    # Now 200 answers: 100 promoters, 60 passives, 40 detractors → NPS +30.
    # Before 150 answers: 60 promoters, 45 passives, 45 detractors → NPS +10.  Difference +20 points.
    # Var now = (0.5 + 0.2 − 0.3²)/200 = 0.61/200 = 0.00305; var before = (0.4 + 0.3 − 0.1²)/150 = 0.0046.
    # Half-width = 1.96 · √0.00765 = 1.96 · 0.0874643 = 0.1714300 → 17.143 points: +2.857 to +37.143.
    change = nps_difference(100, 40, 200, 60, 45, 150)
    assert change.delta == pytest.approx(20.0)
    assert change.low == pytest.approx(2.857, abs=1e-3) and change.high == pytest.approx(37.143, abs=1e-3)
    assert change.significant and (change.n_now, change.n_before) == (200, 150)
    assert nps_interval(100, 40, 200, 60, 45, 150) == (change.low, change.high)
    from_counts = nps_change({10: 70, 9: 30, 8: 60, 3: 40}, {9: 60, 7: 45, 0: 45})
    assert (from_counts.delta, from_counts.low, from_counts.high) == pytest.approx((20.0, 2.857, 37.143), abs=1e-3)


def test_a_small_side_is_never_significant_whatever_the_difference():
    # The issue: 3,230 mixed CSAT answers (58.3% satisfied) against 4 that were all satisfied.
    change = csat_change({5: 1200, 4: 683, 3: 600, 2: 400, 1: 347}, {5: 4})
    assert change.reason == TOO_FEW and not change.significant
    assert change.low is None and change.high is None and (change.n_now, change.n_before) == (3230, 4)
    assert change.delta == pytest.approx(-41.7, abs=0.05)
    assert nps_change({10: 500, 0: 500}, {10: 29}).reason == TOO_FEW
    assert ces_change({7: 28, 1: 1}, {1: 500, 7: 500}).reason == TOO_FEW
    thirty = ces_change({7: 29, 1: 1}, {1: 500, 7: 500})  # 30 answers are enough
    assert thirty.reason is None and thirty.significant


def test_a_side_without_variance_is_not_compared():
    assert nps_change({10: 40}, {10: 20, 8: 10, 3: 10}).reason == NO_VARIANCE
    assert csat_change({5: 20, 4: 20}, {5: 20, 2: 20}).reason == NO_VARIANCE
    change = ces_change({4: 35}, {4: 35})
    assert change.reason == NO_VARIANCE and change.delta == 0 and not change.significant


def test_no_answers_on_one_side_means_nothing_to_compare():
    for change in (nps_change({10: 40}, {}), csat_change({}, {5: 40}), ces_change({}, {})):
        assert change.reason == NO_ANSWERS and change.delta is None and not change.significant


def test_scaled_moves_the_delta_and_the_interval_together():
    assert Difference(0.2, 0.05, 0.35, 70, 80).scaled(100) == Difference(20.0, 5.0, 35.0, 70, 80)
    assert Difference(None, None, None, 0, 3, NO_ANSWERS).scaled(100).delta is None


DISTRIBUTIONS = {
    "nps": (nps_change, range(0, 11), [2, 1, 1, 2, 2, 4, 6, 12, 18, 22, 30]),
    "csat": (csat_change, range(1, 6), [5, 8, 17, 35, 35]),
    "ces": (ces_change, range(1, 8), [3, 5, 8, 15, 25, 26, 18]),
}


@pytest.mark.parametrize("name", list(DISTRIBUTIONS))
def test_two_samples_from_one_distribution_are_rarely_called_different(name):
    """At a 95% interval about 5% of null comparisons come out significant; 7% allows for sampling noise."""
    change, scores, weights = DISTRIBUTIONS[name]
    rng = random.Random(2026)
    significant = 0
    for _ in range(1000):
        now = Counter(rng.choices(scores, weights, k=rng.randint(30, 400)))
        before = Counter(rng.choices(scores, weights, k=rng.randint(30, 400)))
        significant += change(now, before).significant
    assert 0.02 <= significant / 1000 <= 0.07  # the lower bound shows the test is not simply refusing


def test_benjamini_hochberg_matches_a_hand_computed_example():
    # Sorted p: 0.001 0.008 0.039 0.041 0.042 0.060 0.074 0.205 (m = 8); p·m/rank:
    # 0.008 0.032 0.104 0.082 0.0672 0.080 0.0846 0.205; running minimum from the top:
    # 0.008 0.032 0.0672 0.0672 0.0672 0.080 0.0846 0.205.  Two discoveries at 5%.
    p_values = [0.041, 0.001, 0.205, 0.008, 0.060, 0.039, 0.074, 0.042]
    expected = [0.0672, 0.008, 0.205, 0.032, 0.080, 0.0672, 0.0846, 0.0672]
    found = benjamini_hochberg(p_values)
    assert [d.q for d in found] == pytest.approx([round(q, 4) for q in expected], abs=5e-5)
    assert [d.significant for d in found] == [False, True, False, True, False, False, False, False]
    assert [d.p for d in found] == p_values
    assert [d.q for d in found] == pytest.approx(list(stats.false_discovery_control(p_values)))


def test_benjamini_hochberg_leaves_untested_cells_out_of_the_count():
    found = benjamini_hochberg([0.01, None, 0.04, None])
    assert [d.q for d in found] == [pytest.approx(0.02), None, pytest.approx(0.04), None]
    assert [d.significant for d in found] == [True, False, True, False]
    assert benjamini_hochberg([]) == []
    with pytest.raises(ValueError):
        benjamini_hochberg([1.5])


def test_benjamini_hochberg_agrees_with_scipy_on_random_p_values():
    rng = random.Random(7)
    p_values = [rng.random() ** 3 for _ in range(200)]
    found = benjamini_hochberg(p_values, rate=0.1)
    assert [d.q for d in found] == pytest.approx(list(stats.false_discovery_control(p_values)))
    assert [d.significant for d in found] == [q <= 0.1 for q in stats.false_discovery_control(p_values)]
    assert not math.isnan(sum(d.q for d in found))


def test_proportion_p_value_is_pearsons_chi_square_on_the_two_by_two_table():
    for now, n_now, before, n_before in ((18, 30, 9, 30), (40, 400, 31, 380), (0, 50, 6, 60), (5, 35, 5, 35)):
        table = [[now, n_now - now], [before, n_before - before]]
        expected = stats.chi2_contingency(table, correction=False).pvalue
        assert proportion_p_value(now, n_now, before, n_before) == pytest.approx(expected, rel=1e-9)
    # By hand: 18/30 against 9/30, pooled 27/60 = 0.45; z = 0.3 / √(0.45·0.55·(2/30)) = 0.3 / 0.128452
    # = 2.33550; p = 2·Φ(−2.3355) = 0.019517.
    assert proportion_p_value(18, 30, 9, 30) == pytest.approx(0.019517, abs=1e-6)
    assert proportion_p_value(18, 29, 9, 30) is None  # too few comments on one side
    assert proportion_p_value(0, 40, 0, 40) is None  # never raised in either period: nothing to test


def test_weighted_mean_p_value_matches_a_hand_worked_example_and_least_squares():
    # Side a: (w, v) = (1, 0.5), (0.5, −0.5), (1, 1.0) and 27 more of (0.5, 0.1); side b: 30 × (1, −0.2), (1, 0.2).
    a = [(1.0, 0.5), (0.5, -0.5), (1.0, 1.0)] + [(0.5, 0.1)] * 27
    b = [(1.0, -0.2), (1.0, 0.2)] * 15
    # By hand: Σw_a = 16, Σw·v_a = 0.5 − 0.25 + 1 + 1.35 = 2.6, mean 0.1625; Σw²(v − mean)²_a = 0.113906
    # + 0.109727 + 0.701406 + 27·0.25·0.003906 = 0.951406, var 0.951406/256 = 0.003716. b: mean 0,
    # Σw²v² = 1.2, var 1.2/900 = 0.001333. z = 0.1625 / √0.005050 = 2.2867; p = 2·Φ(−2.2867) = 0.02221.
    now, other = WeightedSums.of(a), WeightedSums.of(b)
    assert (now.n, now.w, now.mean) == (30, 16.0, pytest.approx(0.1625))
    assert now.variance_of_mean == pytest.approx(0.95140625 / 256, rel=1e-9)
    assert weighted_mean_p_value(now, other) == pytest.approx(0.02221, abs=1e-5)
    # The same variance from weighted least squares' sandwich (HC0) estimator, computed with numpy.
    weights, values = np.array([w for w, _ in a]), np.array([v for _, v in a])
    residuals = values - np.average(values, weights=weights)
    assert now.variance_of_mean == pytest.approx(float((weights**2 * residuals**2).sum() / weights.sum() ** 2))
    assert astuple(WeightedSums.of(a + b) - other) == pytest.approx(astuple(now))  # sums add and subtract by group
    assert weighted_mean_p_value(WeightedSums.of(a[:29]), other) is None  # 29 comments: too few
    assert weighted_mean_p_value(WeightedSums.of([(1.0, 0.3)] * 40), other) is None  # no spread


def test_weighted_mean_test_calls_about_5_percent_of_same_distribution_pairs_significant():
    rng = random.Random(11)
    significant = 0
    for _ in range(1000):
        centre = rng.uniform(-0.6, 0.6)
        now, other = (WeightedSums.of((rng.uniform(0.2, 1.0), max(-1.0, min(1.0, rng.gauss(centre, 0.5))))
                                      for _ in range(rng.randint(30, 300))) for _side in range(2))
        significant += (weighted_mean_p_value(now, other) or 1.0) < 0.05
    assert 0.02 <= significant / 1000 <= 0.07
