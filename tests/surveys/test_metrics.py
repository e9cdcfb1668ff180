"""NPS, CSAT and CES figures with their intervals, checked against hand-computed values."""

from __future__ import annotations

import math

import pytest
from scipy import special, stats

from voc.surveys.metrics import (
    ces_metric,
    csat_metric,
    nps_metric,
    regularized_beta,
    student_t_quantile,
    student_t_tail,
    t975,
    wilson_interval,
)


def test_nps_and_its_trinomial_interval():
    counts = {10: 30, 9: 20, 8: 15, 7: 10, 5: 15, 2: 10}  # 50 promoters, 25 passives, 25 detractors
    metric = nps_metric(counts)
    assert metric.n == 100 and metric.value == 25.0 and not metric.small_sample
    half = 1.96 * math.sqrt((0.5 + 0.25 - 0.25**2) / 100) * 100
    assert metric.ci_low == pytest.approx(25 - half, abs=0.05)
    assert metric.ci_high == pytest.approx(25 + half, abs=0.05)
    assert metric.breakdown == {"promoters": 50, "passives": 25, "detractors": 25}


def test_csat_wilson_interval_stays_inside_0_100():
    metric = csat_metric({5: 9, 4: 1})
    assert metric.value == 100.0 and metric.small_sample
    assert metric.ci_high == 100.0 and 69 < metric.ci_low < 73  # Wilson, n=10, p=1 → 72.25%


def test_ces_mean_with_a_t_interval():
    metric = ces_metric({7: 2, 5: 2, 3: 2})
    assert metric.value == 5.0
    half = t975(5) * math.sqrt(((4 + 0 + 4) * 2 / 5) / 6)
    assert metric.ci_low == pytest.approx(5 - half, abs=0.001)
    assert t975(5) == pytest.approx(2.5706, abs=1e-4) and t975(100) == pytest.approx(1.9840, abs=1e-4)


@pytest.mark.parametrize("df", [1, 1.5, 2, 2.7, 3, 5, 9.3, 29, 30, 31, 57.25, 100, 1000, 12345.6, 1e6])
def test_student_t_quantile_matches_scipy_for_whole_and_fractional_df(df):
    """Welch's degrees of freedom are fractional: the quantile holds to 1e-6 of scipy's for any df ≥ 1."""
    for p in (0.0005, 0.025, 0.1, 0.4, 0.5, 0.6, 0.9, 0.95, 0.975, 0.99, 0.9995):
        assert student_t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), abs=1e-6, rel=1e-8), p


@pytest.mark.parametrize("df", [1, 2.5, 30, 4000])
def test_student_t_tail_matches_scipy(df):
    for t in (-40.0, -2.0, -0.3, 0.0, 1e-6, 0.7, 1.96, 12.7, 300.0):
        assert student_t_tail(t, df) == pytest.approx(stats.t.sf(t, df), abs=1e-12, rel=1e-9)


def test_regularized_beta_matches_scipy():
    for x in (0.0, 1e-9, 0.01, 0.3, 0.5, 0.77, 0.999, 1.0):
        for a, b in ((0.5, 0.5), (0.5, 15.0), (3.0, 0.5), (20.0, 40.0), (500.0, 0.5)):
            assert regularized_beta(x, a, b) == pytest.approx(special.betainc(a, b, x), abs=1e-12)


def test_student_t_quantile_rejects_what_has_no_quantile():
    for p, df in ((0.0, 5), (1.0, 5), (0.5, 0)):
        with pytest.raises(ValueError):
            student_t_quantile(p, df)


def test_wilson_interval_of_a_published_example():
    # Newcombe (1998, single proportions), 81/263: Wilson 0.2553 to 0.3662.
    low, high = wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0


def test_no_answers_means_no_figure():
    assert nps_metric({}).value is None and nps_metric({}).n == 0
