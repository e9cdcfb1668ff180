"""The edges of NPS, CSAT and CES a CX manager meets: the category boundaries (6/7, 8/9, 3/4), one answer,
answers that all agree, the small-sample flag at 30, and intervals cut at the ends of their scale. Every
expected figure is worked out here from the textbook formulas (t quantiles from a printed t table)."""

from __future__ import annotations

import math

import pytest

from voc.surveys.metrics import Z95, ces_metric, csat_metric, nps_metric

T_TABLE = {2: 4.3027, 3: 3.1824}  # two-sided 95% quantiles of Student's t


@pytest.mark.parametrize(("score", "group"), [(0, "detractors"), (6, "detractors"), (7, "passives"),
                                              (8, "passives"), (9, "promoters"), (10, "promoters")])
def test_each_nps_answer_falls_in_its_group(score, group):
    metric = nps_metric({score: 3})
    assert metric.breakdown[group] == 3 and sum(metric.breakdown.values()) == 3
    assert metric.value == {"detractors": -100.0, "passives": 0.0, "promoters": 100.0}[group]


def test_nps_of_one_group_has_no_spread_and_a_split_one_is_cut_at_the_ends_of_the_scale():
    assert (nps_metric({10: 40}).ci_low, nps_metric({10: 40}).ci_high) == (100.0, 100.0)
    # One promoter and one detractor: NPS 0, variance 1 − 0 = 1, half = 1.96 · √(1/2) = 138.6 points.
    split = nps_metric({10: 1, 0: 1})
    assert (split.value, split.ci_low, split.ci_high, split.small_sample) == (0.0, -100.0, 100.0, True)
    # 9 promoters, 1 passive, 10 detractors of 20: NPS −5; variance 0.45 + 0.5 − 0.05² = 0.9475.
    metric = nps_metric({9: 9, 8: 1, 6: 10})
    half = 100 * 1.959964 * math.sqrt(0.9475 / 20)
    assert metric.value == -5.0 and metric.breakdown == {"promoters": 9, "passives": 1, "detractors": 10}
    assert metric.ci_low == pytest.approx(-5 - half, abs=0.01) and metric.ci_high == pytest.approx(-5 + half, abs=0.01)


def test_thirty_answers_are_no_longer_a_small_sample():
    assert nps_metric({10: 15, 0: 14}).small_sample and not nps_metric({10: 15, 0: 15}).small_sample
    assert csat_metric({5: 29}).small_sample and not csat_metric({5: 30}).small_sample
    assert ces_metric({4: 20, 5: 9}).small_sample and not ces_metric({4: 20, 5: 10}).small_sample


def test_csat_counts_the_top_two_boxes():
    # 4 and 5 satisfy; 3 does not. 2 of 4 satisfied.
    metric = csat_metric({5: 1, 4: 1, 3: 1, 1: 1})
    assert metric.value == 50.0 and metric.breakdown == {"satisfied": 2, "not_satisfied": 2}
    # Wilson by hand, p = 0.5, n = 4: centre 0.5; half = z·√(0.25/4 + z²/64) / (1 + z²/4).
    z = 1.959964
    half = z * math.sqrt(0.25 / 4 + z * z / 64) / (1 + z * z / 4)
    assert metric.ci_low == pytest.approx(100 * (0.5 - half), abs=0.01)
    assert metric.ci_high == pytest.approx(100 * (0.5 + half), abs=0.01)
    assert csat_metric({3: 10}).value == 0.0 and csat_metric({3: 10}).ci_low == 0.0


def test_csat_of_one_answer():
    # Wilson for n of n: upper bound 1, lower bound n/(n + z²); for 1 of 1, 1/(1 + 3.8415) = 0.2065.
    metric = csat_metric({4: 1})
    assert (metric.value, metric.n, metric.ci_high) == (100.0, 1, 100.0)
    assert metric.ci_low == pytest.approx(100 / (1 + Z95**2), abs=0.01)


def test_ces_of_three_answers_by_hand():
    # 1, 2 and 4: mean 7/3 = 2.333; s² = (1.7778 + 0.1111 + 2.7778)/2 = 2.3333; SE = √(2.3333/3) = 0.88192;
    # half = 4.3027 · 0.88192 = 3.7946: 2.333 − 3.795 = −1.461 is below the scale, so the interval starts at 1.
    metric = ces_metric({1: 1, 2: 1, 4: 1})
    assert metric.value == 2.333 and metric.n == 3 and metric.small_sample
    half = T_TABLE[2] * math.sqrt((7 / 3) / 3)
    assert metric.ci_low == 1.0
    assert metric.ci_high == pytest.approx(7 / 3 + half, abs=1e-3)


def test_ces_of_four_answers_rounds_to_three_places():
    # 5, 6, 6, 7 … mean 6, s² = (1 + 0 + 0 + 1)/3 = 0.6667, SE = √(0.6667/4) = 0.40825; half = 3.1824 · 0.40825
    # = 1.2992: 4.701 to 7.299, and no CES is above 7, so the interval ends at 7.
    metric = ces_metric({5: 1, 6: 2, 7: 1})
    half = T_TABLE[3] * math.sqrt((2 / 3) / 4)
    assert metric.value == 6.0
    assert (metric.ci_low, metric.ci_high) == (pytest.approx(6 - half, abs=1e-3), 7.0)
    assert metric.ci_low == round(metric.ci_low, 3)


def test_a_ces_interval_stays_on_the_1_to_7_scale():
    # 1 and 7: mean 4, s² = 18, SE = √(18/2) = 3, half = 12.706 · 3 = 38.1: every value the scale has.
    assert (ces_metric({1: 1, 7: 1}).ci_low, ces_metric({1: 1, 7: 1}).ci_high) == (1.0, 7.0)
    # 6, 7, 7: mean 6.667, s² = 1/3, SE = 1/3, half = 4.3027/3 = 1.4342: 5.232 to 8.101, cut at 7.
    metric = ces_metric({6: 1, 7: 2})
    assert (metric.ci_low, metric.ci_high) == (5.232, 7.0)


def test_ces_of_one_answer_has_a_value_but_no_interval():
    metric = ces_metric({5: 1})
    assert (metric.value, metric.n, metric.ci_low, metric.ci_high, metric.small_sample) == (5.0, 1, None, None, True)
    third = ces_metric({1: 1, 2: 2})  # mean 5/3: three places
    assert third.value == 1.667


def test_ces_answers_that_all_agree_have_an_interval_of_no_width():
    metric = ces_metric({4: 5})
    assert (metric.value, metric.ci_low, metric.ci_high) == (4.0, 4.0, 4.0)


def test_no_answers_give_no_figure_for_any_measure():
    for metric in (nps_metric({}), csat_metric({}), ces_metric({})):
        figures = (metric.value, metric.n, metric.ci_low, metric.ci_high, metric.small_sample)
        assert figures == (None, 0, None, None, True)
