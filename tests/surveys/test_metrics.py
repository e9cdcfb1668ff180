"""NPS, CSAT and CES figures with their intervals, checked against hand-computed values."""

from __future__ import annotations

import math

import pytest

from voc.surveys.metrics import ces_metric, csat_metric, nps_metric, t975


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
    assert t975(5) == 2.571 and abs(t975(100) - 1.984) < 0.002


def test_no_answers_means_no_figure():
    assert nps_metric({}).value is None and nps_metric({}).n == 0
