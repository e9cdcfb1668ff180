"""Key-driver analysis on synthetic answers with planted drivers of known size: the planted drivers come out in
order, their 95% intervals cover the planted effects, drivers with no effect cover zero, and too few answers
give no figure."""

from __future__ import annotations

import random

import pytest

from voc.analytics.drivers import MIN_ANSWERS, Observation, cholesky_solve, fit_drivers, percentile

TOUCHPOINTS = ("A", "B", "C", "D")
# Planted effects in NPS points (promoter +100, passive 0, detractor −100), and how often each flag occurs.
PLANTED = {"A": -40.0, "wait time": -25.0, "feel-": -12.0}
REACH = {"wait time": 0.30, "feel-": 0.35, "price": 0.30, "staff": 0.20, "think-": 0.25}
NULL_FLAGS = ("price", "staff", "think-")
BASE = 30.0


def planted_answers(n: int, seed: int) -> list[Observation]:
    """Answers coded as NPS counts them, whose expected value is exactly BASE plus the planted effects present.

    A fifth of answers are passives; promoters and detractors share the rest so that 100·(p − q) is the
    expected score: the linear model is then true, and its errors are as uneven as real NPS answers'."""
    rng = random.Random(seed)
    answers = []
    for _ in range(n):
        touchpoint = rng.choice(TOUCHPOINTS)
        flags = frozenset(flag for flag, reach in REACH.items() if rng.random() < reach)
        expected = (BASE + PLANTED["A"] * (touchpoint == "A")
                    + sum(PLANTED.get(flag, 0.0) for flag in flags)) / 100
        promoter, detractor = (0.8 + expected) / 2, (0.8 - expected) / 2
        draw = rng.random()
        score = 100.0 if draw < promoter else -100.0 if draw < promoter + detractor else 0.0
        answers.append(Observation(score, touchpoint, flags))
    return answers


def planted_effect(answers: list[Observation], key: str) -> float:
    """The planted effect as the fit defines it: a flag's own; a touchpoint's against the others' mean."""
    if key not in TOUCHPOINTS:
        return PLANTED.get(key, 0.0)
    counts = {t: sum(a.level == t for a in answers) for t in TOUCHPOINTS}
    planted = {t: PLANTED.get(t, 0.0) for t in TOUCHPOINTS}
    others = len(answers) - counts[key]
    return planted[key] - sum(counts[t] * planted[t] for t in TOUCHPOINTS if t != key) / others


def test_the_planted_top_three_come_out_in_order_with_intervals_covering_their_effects():
    answers = planted_answers(5000, seed=1)
    fit = fit_drivers(answers)
    ranked = fit.fix_first()
    assert [d.key for d in ranked[:3]] == ["A", "wait time", "feel-"]
    for driver in ranked[:3]:
        assert driver.low <= PLANTED[driver.key] <= driver.high, driver
        assert driver.impact == pytest.approx(driver.reach * driver.effect)
    a = next(d for d in fit.drivers if d.key == "A")
    assert a.categorical and a.n == sum(x.level == "A" for x in answers) and a.reach == pytest.approx(a.n / 5000)
    # Nothing with no planted effect is called harmful, and its interval covers zero.
    by_key = {d.key: d for d in fit.drivers}
    for key in NULL_FLAGS:
        assert not by_key[key].hurts and by_key[key].low <= 0 <= by_key[key].high, by_key[key]
    # B, C and D score alike; against the rest (which includes A) they are higher, by the planted amount.
    for key in ("B", "C", "D"):
        assert not by_key[key].hurts and by_key[key].low <= planted_effect(answers, key) <= by_key[key].high


def test_intervals_cover_planted_effects_about_95_percent_of_the_time():
    """Twenty fresh data sets: the planted (and the zero) effects fall inside nearly all 95% intervals."""
    covered = total = null_covered = null_total = 0
    for seed in range(100, 120):
        answers = planted_answers(1200, seed)
        fit = fit_drivers(answers, resamples=200, seed=seed)
        for driver in fit.drivers:
            inside = driver.low <= planted_effect(answers, driver.key) <= driver.high
            covered, total = covered + inside, total + 1
            if driver.key in NULL_FLAGS:
                null_covered, null_total = null_covered + inside, null_total + 1
    assert total == 20 * 9
    assert covered / total >= 0.88, (covered, total)
    assert null_covered / null_total >= 0.85, (null_covered, null_total)


def test_the_same_answers_give_the_same_figures():
    answers = planted_answers(600, seed=3)
    first, again = fit_drivers(answers), fit_drivers(answers)
    assert [(d.key, d.effect, d.low, d.high) for d in first.drivers] == \
           [(d.key, d.effect, d.low, d.high) for d in again.drivers]


def test_too_few_answers_give_no_figure_rather_than_a_wild_one():
    answers = planted_answers(MIN_ANSWERS - 1, seed=4)
    fit = fit_drivers(answers)
    assert fit.n == MIN_ANSWERS - 1 and fit.drivers
    assert all(d.effect is None and d.low is None and not d.hurts and d.impact is None for d in fit.drivers)
    assert fit.fix_first() == []
    # Enough answers overall, but a flag on only a few of them (or on nearly all) stays unestimated.
    many = planted_answers(400, seed=5)
    rare = [Observation(a.score, a.level, a.flags | {"rare"}) if i < 10 else a for i, a in enumerate(many)]
    common = [Observation(a.score, a.level, a.flags | {"common"}) if i >= 10 else a for i, a in enumerate(many)]
    for answers, key in ((rare, "rare"), (common, "common")):
        driver = next(d for d in fit_drivers(answers).drivers if d.key == key)
        assert driver.effect is None and driver.n in (10, 390)
    # A touchpoint every answer shares is no driver at all: there is nothing to compare it with.
    alone = [Observation(a.score, "A", a.flags) for a in many]
    assert "A" not in {d.key for d in fit_drivers(alone).drivers}


def test_a_small_touchpoint_pools_with_the_rest_and_is_not_estimated():
    answers = planted_answers(600, seed=6)
    answers[:5] = [Observation(a.score, "E", a.flags) for a in answers[:5]]
    drivers = {d.key: d for d in fit_drivers(answers).drivers}
    assert drivers["E"].n == 5 and drivers["E"].effect is None
    assert drivers["A"].hurts


def test_cholesky_solve_and_percentile():
    # [[4, 2], [2, 3]] x = [10, 8] → x = (1.75, 1.5)
    assert cholesky_solve([[4.0, 2.0], [2.0, 3.0]], [10.0, 8.0]) == pytest.approx([1.75, 1.5])
    with pytest.raises(ValueError):
        cholesky_solve([[1.0, 2.0], [2.0, 1.0]], [1.0, 1.0])
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.5) == 3.0
    assert percentile([0.0, 10.0], 0.25) == 2.5
