"""The figures of a period comparison the overview prints ("n = … now, … before", the change and its interval,
or why there is none) and the false-discovery correction behind the themes and the journey heatmap, each
worked out by hand here: the side that refuses a comparison may be either side, and Benjamini and Hochberg's
own example, ties and the step-up are checked against the paper's definition."""

from __future__ import annotations

import math

import pytest

from voc.analytics.comparisons import (
    NO_ANSWERS,
    NO_VARIANCE,
    TOO_FEW,
    WeightedSums,
    benjamini_hochberg,
    ces_change,
    csat_change,
    mean_difference,
    nps_change,
    nps_difference,
    proportion_difference,
    weighted_mean_p_value,
)

Z = 1.959964


def test_a_side_without_variance_before_is_not_compared_either():
    # The earlier period is the one with no spread: 40 promoters, 40 satisfied answers, 40 answers of 4.
    nps = nps_change({10: 20, 8: 10, 3: 10}, {10: 40})
    assert nps.reason == NO_VARIANCE and (nps.low, nps.high) == (None, None)
    assert nps.delta == pytest.approx(25.0 - 100.0)  # (20 − 10)/40 = +25 now, +100 before
    csat = csat_change({5: 20, 2: 20}, {5: 30, 4: 10})
    assert csat.reason == NO_VARIANCE and csat.delta == pytest.approx(-50.0) and not csat.significant
    ces = ces_change({7: 20, 5: 20}, {4: 40})
    assert ces.reason == NO_VARIANCE and ces.delta == pytest.approx(2.0) and ces.low is None


def test_each_refusal_still_says_how_many_answered_on_each_side():
    # The overview prints "n = … now, … before" under every change, compared or not.
    for change, sizes in ((nps_difference(0, 0, 0, 5, 2, 10), (0, 10)), (nps_difference(5, 2, 10, 0, 0, 0), (10, 0)),
                          (nps_difference(5, 2, 10, 20, 10, 40), (10, 40)),
                          (proportion_difference(0, 0, 7, 12), (0, 12)), (proportion_difference(7, 12, 0, 0), (12, 0)),
                          (mean_difference(0.0, 0.0, 0, 4.0, 1.0, 50), (0, 50)),
                          (mean_difference(4.0, 1.0, 50, 0.0, 0.0, 0), (50, 0)),
                          (mean_difference(4.0, 1.0, 12, 3.0, 1.0, 50), (12, 50)),
                          (mean_difference(4.0, 1.0, 50, 3.0, 1.0, 12), (50, 12))):
        assert (change.n_now, change.n_before) == sizes
        assert change.low is None and change.high is None and not change.significant
    assert nps_difference(5, 2, 10, 20, 10, 40).reason == TOO_FEW
    assert mean_difference(4.0, 1.0, 12, 3.0, 1.0, 50).delta == pytest.approx(1.0)


def test_a_ces_period_without_answers_has_no_change_however_many_answered_the_other():
    for change in (ces_change({4: 20, 6: 20}, {}), ces_change({}, {4: 20, 6: 20})):
        assert change.reason == NO_ANSWERS and change.delta is None
    assert (ces_change({4: 20, 6: 20}, {}).n_now, ces_change({}, {4: 20, 6: 20}).n_before) == (40, 40)


def test_a_ces_period_of_one_or_two_answers_is_too_few_and_still_shows_its_change():
    # One answer of 4 against 40 answers (20 × 3, 20 × 5, mean 4): +0; two answers, 6 and 7, mean 6.5: +2.5.
    one = ces_change({4: 1}, {3: 20, 5: 20})
    assert one.reason == TOO_FEW and one.delta == pytest.approx(0.0) and (one.n_now, one.n_before) == (1, 40)
    two = ces_change({3: 20, 5: 20}, {6: 1, 7: 1})
    assert two.reason == TOO_FEW and two.delta == pytest.approx(-2.5) and (two.n_now, two.n_before) == (40, 2)


def test_a_ces_change_shows_now_minus_before_with_its_interval():
    # Now 20 × 6 and 20 × 4: mean 5, s² = 40/39. Before 20 × 4 and 20 × 2: mean 3, s² = 40/39. Change +2.
    # Welch: equal variances and sizes give 78 df; SE = √(2 · (40/39)/40) = 0.226455; t(0.975, 78) = 1.990847
    # (printed tables: 1.9908); half = 0.450833.
    change = ces_change({6: 20, 4: 20}, {4: 20, 2: 20})
    half = 1.990847 * math.sqrt(2 * (40 / 39) / 40)
    assert change.delta == pytest.approx(2.0) and change.significant
    assert (change.low, change.high) == (pytest.approx(2 - half, abs=1e-5), pytest.approx(2 + half, abs=1e-5))


def test_a_score_of_6_is_a_detractor_in_an_nps_change():
    # Now 20 × 6 and 20 × 10: 20 promoters, 20 detractors, NPS 0. Before 20 × 8 and 20 × 10: NPS +50. −50 points.
    # Variances: now 0.5 + 0.5 − 0² = 1, before 0.5 + 0 − 0.5² = 0.25; half = 1.96 · √(1/40 + 0.25/40) = 34.648.
    change = nps_change({6: 20, 10: 20}, {8: 20, 10: 20})
    half = 100 * Z * math.sqrt(1.25 / 40)
    assert change.delta == pytest.approx(-50.0) and change.significant
    assert (change.low, change.high) == (pytest.approx(-50 - half, abs=1e-3), pytest.approx(-50 + half, abs=1e-3))


def test_a_heatmap_cell_is_not_tested_against_a_rest_without_spread():
    # 40 comments of weight 1 with sentiment ±0.5 against 40 that all read 0.2: the rest has no spread.
    varied = WeightedSums.of([(1.0, 0.5), (1.0, -0.5)] * 20)
    flat = WeightedSums.of([(1.0, 0.2)] * 40)
    assert weighted_mean_p_value(varied, flat) is None and weighted_mean_p_value(flat, varied) is None
    # With spread on both sides it is tested: means 0 and 0.25 (30 × 0.5, 10 × −0.5) …
    other = WeightedSums.of([(1.0, 0.5)] * 30 + [(1.0, -0.5)] * 10)
    # … sandwich variances 40 · 0.25/40² = 1/160 and (30 · 0.0625 + 10 · 0.5625)/40² = 7.5/1600: z = −0.25/√0.010938.
    p = weighted_mean_p_value(varied, other)
    assert p == pytest.approx(math.erfc(0.25 / math.sqrt(1 / 160 + 7.5 / 1600) / math.sqrt(2)), rel=1e-9)


# Benjamini & Hochberg (1995), "Controlling the false discovery rate", J. R. Statist. Soc. B 57:289–300, §4:
# the 15 p-values of the myocardial infarction study. With q* = 0.05 the step-up rejects the four smallest
# (the largest i with p(i) ≤ i/15 · 0.05 is i = 4: 0.0095 ≤ 0.0133, while 0.0201 > 0.0167, 0.0278 > 0.02, …).
PAPER = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240, 0.4262, 0.5719,
         0.6528, 0.7590, 1.0000]
# q(i) = min over j ≥ i of p(j) · 15/j. p · 15/i: 0.0015 0.003 0.0095 0.035625 0.0603 0.0695 0.063857 0.0645
# 0.0765 0.486 0.581182 0.714875 0.753231 0.813214 1; the running minimum from the top lowers only the 6th
# (0.0695 → 0.063857, the 7th's).
PAPER_Q = [0.0015, 0.003, 0.0095, 0.035625, 0.0603, 0.063857, 0.063857, 0.0645, 0.0765, 0.486, 0.581182,
           0.714875, 0.753231, 0.813214, 1.0]


def test_benjamini_hochberg_reproduces_the_papers_example_in_any_order_and_around_untested_cells():
    order = [7, 14, 0, 9, 3, 12, 5, 1, 10, 13, 6, 2, 11, 8, 4]  # a shuffle; None cells between them
    p_values: list[float | None] = []
    for i in order:
        p_values += [PAPER[i], None] if i % 4 == 0 else [PAPER[i]]
    found = benjamini_hochberg(p_values)
    for p, discovery in zip(p_values, found, strict=True):
        if p is None:
            assert (discovery.p, discovery.q, discovery.significant) == (None, None, False)
        else:
            rank = PAPER.index(p)
            assert discovery.p == p and discovery.q == pytest.approx(PAPER_Q[rank], abs=1e-6), p
            assert discovery.significant == (rank < 4), p


def test_benjamini_hochberg_steps_up_past_a_p_value_above_its_own_line():
    # At q* = 0.065 the largest i with p(i) ≤ i/15 · 0.065 is i = 8 (0.0344 ≤ 0.034667; 0.0459 > 0.039): the eight
    # smallest are discoveries, the 6th too although 0.0278 > 6/15 · 0.065 = 0.026 (its q is 0.063857).
    found = benjamini_hochberg(PAPER, rate=0.065)
    assert [d.significant for d in found] == [True] * 8 + [False] * 7


def test_tied_p_values_share_one_q_and_a_q_equal_to_the_rate_is_a_discovery():
    # m = 4, three ties at 0.02: p · 4/i = 0.08, 0.04, 0.026667 for i = 1..3, 0.5 for i = 4; the running minimum
    # gives every tie 0.08/3, whichever cell it is in.
    found = benjamini_hochberg([0.02, 0.5, 0.02, 0.02])
    assert [d.q for d in found] == pytest.approx([0.08 / 3, 0.5, 0.08 / 3, 0.08 / 3])
    assert [d.significant for d in found] == [True, False, True, True]
    # 0.01 and 0.05 of two tests: q = min(0.05 · 2/2, …) = 0.05 exactly, and 0.01 · 2 = 0.02: both discoveries.
    assert [(d.q, d.significant) for d in benjamini_hochberg([0.05, 0.01])] == [(0.05, True), (0.02, True)]


def test_p_values_of_exactly_0_and_1_are_p_values():
    # A huge difference gives p = 0.0 (erfc underflows); no difference at all gives p = 1.0.
    found = benjamini_hochberg([0.0, 1.0, 0.3])
    assert [d.q for d in found] == pytest.approx([0.0, 1.0, 0.45]) and [d.significant for d in found] == [
        True, False, False]
    for wrong in (-1e-9, 1 + 1e-9, math.nan):
        with pytest.raises(ValueError):
            benjamini_hochberg([0.2, wrong])
