"""Mean comment sentiment with its 95% t interval, from the rollups' n, Σ compound and Σ compound², checked
against figures worked out by hand (t quantiles from a printed t table)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from voc.analytics.service import sentiment_of
from voc.surveys.metrics import sentiment_metric

# Two-sided 95% quantiles of Student's t, as printed in any t table.
T_TABLE = {1: 12.7062, 2: 4.3027, 4: 2.7764, 29: 2.0452}


def sums(values: list[float]) -> tuple[int, float, float]:
    return len(values), sum(values), sum(v * v for v in values)


def test_five_comments_by_hand():
    # 0.6, −0.2, 0.4, 0.8, −0.4: mean 1.2/5 = 0.24; Σ(v − mean)² = 0.1296 + 0.1936 + 0.0256 + 0.3136 + 0.4096
    # = 1.072, s² = 1.072/4 = 0.268; SE = √(0.268/5) = 0.231517; half = 2.7764 · 0.231517 = 0.64279.
    metric = sentiment_metric(*sums([0.6, -0.2, 0.4, 0.8, -0.4]))
    assert (metric.value, metric.n, metric.small_sample) == (0.24, 5, True)
    half = T_TABLE[4] * 0.231517
    assert metric.ci_low == pytest.approx(0.24 - half, abs=1e-3) and metric.ci_low == -0.403
    assert metric.ci_high == pytest.approx(0.24 + half, abs=1e-3) and metric.ci_high == 0.883


def test_two_comments_already_have_an_interval():
    # 0.40 and 0.42: mean 0.41, s² = (0.01² + 0.01²)/1 = 0.0002, SE = √(0.0002/2) = 0.01; half = 12.7062 · 0.01.
    metric = sentiment_metric(*sums([0.40, 0.42]))
    assert metric.value == 0.41 and metric.n == 2
    assert metric.ci_low == pytest.approx(0.41 - 0.127062, abs=1e-3)
    assert metric.ci_high == pytest.approx(0.41 + 0.127062, abs=1e-3)


def test_the_interval_stays_inside_the_compound_scale():
    # 0.9, 1.0, 0.95: mean 0.95, s² = 0.0025, SE = √(0.0025/3) = 0.028868; half = 4.3027 · 0.028868 = 0.12421:
    # 0.826 to 1.074, cut at +1. The mirror image is cut at −1.
    high = sentiment_metric(*sums([0.9, 1.0, 0.95]))
    assert (high.value, high.ci_low, high.ci_high) == (0.95, pytest.approx(0.826, abs=1e-3), 1.0)
    low = sentiment_metric(*sums([-0.9, -1.0, -0.95]))
    assert (low.value, low.ci_low, low.ci_high) == (-0.95, -1.0, pytest.approx(-0.826, abs=1e-3))


def test_thirty_comments_are_no_longer_a_small_sample():
    # 15 × +0.5 and 15 × −0.5: mean 0, s² = 30 · 0.25/29 = 0.258621, SE = √(0.258621/30) = 0.092848;
    # half = 2.0452 · 0.092848 = 0.18989.
    metric = sentiment_metric(*sums([0.5] * 15 + [-0.5] * 15))
    assert metric.value == 0.0 and not metric.small_sample
    assert (metric.ci_low, metric.ci_high) == pytest.approx((-0.18989, 0.18989), abs=1e-3)
    assert sentiment_metric(*sums([0.5] * 15 + [-0.5] * 14)).small_sample


def test_one_comment_has_a_mean_but_no_interval_and_none_has_neither():
    one = sentiment_metric(*sums([-0.35]))
    assert (one.value, one.n, one.ci_low, one.ci_high, one.small_sample) == (-0.35, 1, None, None, True)
    assert sentiment_metric(*sums([0.3512])).value == 0.351  # VADER's four places, shown to three
    none = sentiment_metric(0, 0.0, 0.0)
    assert (none.value, none.n, none.ci_low, none.ci_high) == (None, 0, None, None)


def test_the_dashboard_reads_the_rollups_sums():
    row = SimpleNamespace(sentiment_count=5, sentiment_sum=1.2, sentiment_square_sum=1.36)  # the five comments
    metric = sentiment_of(row)
    assert (metric.value, metric.n, metric.ci_low, metric.ci_high) == (0.24, 5, -0.403, 0.883)
