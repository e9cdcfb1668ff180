"""The key drivers' least squares, checked against numpy: Cholesky's solution of small hand-made systems, the
weighted fit of hand-made designs (levels, flags, cells of equal answers), columns that coincide or that a
resample leaves empty, and the effects a noise-free survey must give exactly (hand-worked in comments).

Every expected figure comes from numpy.linalg (lstsq / solve on the full design, one row per answer) or by
hand, never from the code under test."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from voc.analytics.drivers import Observation, _Design, cholesky_solve, fit_drivers, percentile


def _weighted_lstsq(observations, columns, weights):
    """numpy's weighted least squares on the full design, one row per answer: intercept, then `columns`
    (a level key or a flag key each)."""
    rows = [[1.0] + [1.0 if (o.level == key or key in o.flags) else 0.0 for key in columns] for o in observations]
    x, y, w = np.array(rows), np.array([o.score for o in observations]), np.sqrt(np.array(weights, dtype=float))
    return np.linalg.lstsq(x * w[:, None], y * w, rcond=None)[0]


def test_cholesky_solves_spd_systems_as_numpy_does_reading_only_the_lower_triangle():
    b = np.array([[2.0, 0.5, -1.0, 0.0], [0.3, 1.5, 0.2, -0.7], [1.0, -0.4, 3.0, 0.6], [0.0, 0.8, -0.5, 2.2]])
    a = b.T @ b + np.eye(4)  # symmetric positive definite
    v = np.array([1.0, -2.0, 0.5, 3.0])
    expected = np.linalg.solve(a, v)
    assert cholesky_solve(a.tolist(), v.tolist()) == pytest.approx(expected.tolist(), rel=1e-12, abs=1e-12)
    # Only the lower triangle is read: garbage above the diagonal changes nothing.
    garbage = a.copy()
    garbage[np.triu_indices(4, 1)] = 99.0
    assert cholesky_solve(garbage.tolist(), v.tolist()) == pytest.approx(expected.tolist(), rel=1e-12, abs=1e-12)
    # 1×1 and diagonal systems: x = v / a.
    assert cholesky_solve([[4.0]], [2.0]) == [0.5]
    assert cholesky_solve([[2.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 8.0]], [1.0, 1.0, 1.0]) == \
        pytest.approx([0.5, 0.25, 0.125])
    # A zero or negative pivot (not positive definite, or singular) is refused rather than divided by.
    for singular in ([[1.0, 1.0], [1.0, 1.0]], [[0.0, 0.0], [0.0, 1.0]], [[-1.0, 0.0], [0.0, 1.0]]):
        with pytest.raises(ValueError):
            cholesky_solve(singular, [1.0, 1.0])


def _levels_and_flags():
    """18 answers, each its own cell (distinct scores): levels A, B, C (C the reference), flags x and y."""
    answers = []
    for i in range(18):
        level = "ABC"[i % 3]
        flags = frozenset({"x"} if i % 2 else set()) | frozenset({"y"} if i % 4 == 1 or i % 5 == 0 else set())
        score = 10.0 * (level == "A") - 25.0 * (level == "B") - 7.0 * ("x" in flags) + 3.0 * ("y" in flags) \
            + ((i * 37) % 11) - 5.0 + i / 100  # a deterministic, uneven "noise", every score distinct
        answers.append(Observation(score, level, flags))
    return answers


def test_the_weighted_fit_is_numpys_weighted_least_squares():
    answers = _levels_and_flags()
    design = _Design(answers, ["A", "B", "C"], "C", ["x", "y"])
    assert design.cell_count == [1] * 18  # one cell per answer, in the answers' order
    expected = _weighted_lstsq(answers, ["A", "B", "x", "y"], [1.0] * 18)
    assert design.solve(design.cell_count) == pytest.approx(expected.tolist(), rel=1e-6, abs=1e-6)
    # Uneven weights, as a bootstrap draw gives them.
    weights = [0.2 + ((i * 7) % 5) * 0.45 for i in range(18)]
    expected = _weighted_lstsq(answers, ["A", "B", "x", "y"], weights)
    assert design.solve(weights) == pytest.approx(expected.tolist(), rel=1e-6, abs=1e-6)


def test_equal_answers_pool_into_one_cell_weighing_their_count():
    base = _levels_and_flags()[:9]
    answers = [a for a in base for _ in range(3)] + base[:2]  # 3 copies of each, 4 of the first two
    design = _Design(answers, ["A", "B", "C"], "A", ["x", "y"])
    assert sorted(design.cell_count) == [3] * 7 + [4] * 2
    expected = _weighted_lstsq(answers, ["B", "C", "x", "y"], [1.0] * len(answers))
    assert design.solve(design.cell_count) == pytest.approx(expected.tolist(), rel=1e-6, abs=1e-6)


def test_two_flags_always_together_share_their_effect_equally():
    # "x" and "y" are always mentioned together: the data cannot tell them apart. numpy's least squares
    # answers the minimum-norm solution, the intercept being fixed: each gets half of their joint effect.
    answers = [Observation(80.0 + (i % 5), None, frozenset({"x", "y"} if i % 3 == 0 else set())) for i in range(60)]
    answers += [Observation(20.0 + (i % 7), None, frozenset({"x", "y"})) for i in range(30)]
    design = _Design(answers, [], None, ["x", "y"])
    expected = _weighted_lstsq(answers, ["x", "y"], [1.0] * len(answers))
    assert expected[1] == pytest.approx(expected[2])
    assert design.solve(design.cell_count) == pytest.approx(expected.tolist(), rel=1e-5, abs=1e-5)
    # The same through the whole fit: each flag is called half the joint difference, in every resample.
    fit = {d.key: d for d in fit_drivers(answers, resamples=20).drivers}
    assert fit["x"].effect == pytest.approx(expected[1], abs=1e-4) and fit["y"].effect == pytest.approx(
        fit["x"].effect, abs=1e-4)
    assert fit["x"].low <= fit["x"].effect <= fit["x"].high and fit["x"].high < 0


def test_a_column_a_resample_leaves_empty_gets_no_effect_and_the_others_are_fitted_without_it():
    answers = _levels_and_flags()
    # Flag "x" as column 1: give every answer that has it no weight; the rest keep uneven weights.
    design = _Design(answers, [], None, ["x", "y"])
    weights = [0.0 if "x" in a.flags else 0.5 + (i % 4) * 0.25 for i, a in enumerate(answers)]
    kept = [(a, w) for a, w in zip(answers, weights, strict=True) if w]
    expected = _weighted_lstsq([a for a, _ in kept], ["y"], [w for _, w in kept])
    beta = design.solve(weights)
    assert beta[1] == pytest.approx(0.0, abs=1e-9)
    assert [beta[0], beta[2]] == pytest.approx(expected.tolist(), rel=1e-6, abs=1e-6)


def test_a_noise_free_survey_gives_its_effects_exactly_with_intervals_of_no_width():
    # 40 answers at each of A, B, C scoring 10, 20 and 60, less 5 where "wait" is mentioned (every other
    # answer), and 10 answers with no touchpoint scoring 30 (less 5 with "wait"). Every resample fits the same
    # exact model, so each interval is one point.
    answers = []
    for level, base in (("A", 10.0), ("B", 20.0), ("C", 60.0), (None, 30.0)):
        for i in range(40 if level else 10):
            answers.append(Observation(base - 5.0 * (i % 2), level, frozenset({"wait"} if i % 2 else set())))
    fit = fit_drivers(answers, resamples=30)
    assert fit.n == 130 and fit.mean == pytest.approx((40 * 7.5 + 40 * 17.5 + 40 * 57.5 + 10 * 27.5) / 130)
    drivers = {d.key: d for d in fit.drivers}
    assert set(drivers) == {"A", "B", "C", "wait"}
    # A level's effect: its answers against the others' mean, the flag held equal. Others of A: 40 at B
    # (20), 40 at C (60) and 10 with none (30): mean (800 + 2400 + 300) / 90 = 38.888…; A's 10 − 38.888….
    expected = {"A": 10 - 3500 / 90, "B": 20 - (400 + 2400 + 300) / 90, "C": 60 - (400 + 800 + 300) / 90,
                "wait": -5.0}
    for key, effect in expected.items():
        d = drivers[key]
        assert d.effect == pytest.approx(effect, abs=1e-6), key
        assert d.low == pytest.approx(effect, abs=1e-6) and d.high == pytest.approx(effect, abs=1e-6), key
    assert drivers["A"].categorical and not drivers["wait"].categorical
    assert (drivers["A"].n, drivers["A"].reach) == (40, pytest.approx(40 / 130))
    assert (drivers["wait"].n, drivers["wait"].reach) == (65, pytest.approx(65 / 130))
    assert drivers["A"].impact == pytest.approx(40 / 130 * expected["A"])
    # Lowering: A (−28.9), B (20 − 34.4 = −14.4) and wait (−5); the largest loss (impact) first: A's
    # −28.9 · 40/130 = −8.9, B's −14.4 · 40/130 = −4.4, wait's −5 · 0.5 = −2.5.
    assert [d.key for d in fit.fix_first()] == ["A", "B", "wait"]


def test_the_percentile_interpolates_as_numpy_does():
    for values in ([4.0], [1.0, 9.0], [3.0, 1.0, 4.0, 1.5, 9.0, 2.6], [float(v * v) for v in range(200)]):
        ordered = sorted(values)
        for share in (0.0, 0.025, 0.25, 0.5, 0.9, 0.975, 1.0):
            assert percentile(ordered, share) == pytest.approx(float(np.percentile(ordered, share * 100))), \
                (values, share)


def test_thirty_answers_with_and_thirty_without_are_enough_and_a_flag_on_every_answer_is_no_driver():
    # 60 answers: "half" on answers 30–59 (30 with, 30 without), "few" on answers 1–29 (29: too few for a
    # figure), "all" on every answer (nothing to compare with), counted first. The scores are 80, less 30 with
    # "half": that is the whole model, so every resample gives −30 and "few" nothing.
    answers = [Observation(80.0 - 30.0 * (i >= 30), None,
                           frozenset({"all"} | ({"half"} if i >= 30 else set()) | ({"few"} if 1 <= i < 30 else set())))
               for i in range(60)]
    drivers = {d.key: d for d in fit_drivers(answers, resamples=20).drivers}
    assert set(drivers) == {"half", "few"}
    assert (drivers["half"].n, drivers["half"].effect) == (30, pytest.approx(-30.0, abs=1e-6))
    assert [drivers["half"].low, drivers["half"].high] == pytest.approx([-30.0, -30.0], abs=1e-6)
    assert (drivers["few"].n, drivers["few"].effect, drivers["few"].low) == (29, None, None)
    # 31 without "half" and 29 with it: too few with it. 29 without and 31 with: too few without.
    for cut in (31, 29):
        shifted = [Observation(80.0 - 30.0 * (i >= cut), None, frozenset({"half"} if i >= cut else set()))
                   for i in range(60)]
        assert fit_drivers(shifted, resamples=5).drivers[0].effect is None, cut


def test_the_95_percent_interval_spans_about_1_96_standard_errors_either_side():
    # 100 answers with the flag scoring 1–5 evenly (mean 3), 100 without scoring 3–7 (mean 5): the effect is
    # −2, and the difference of two means has standard error √(2/100 + 2/100) = 0.2 (each spread's population
    # variance is 2). The bootstrap's 2.5% and 97.5% points lie about 1.96 (scipy) standard errors away; 4,000
    # resamples place each within a few hundredths of that (a 1/60 tail would place them 2.13 away).
    answers = [Observation(float(1 + i % 5), None, frozenset({"x"})) for i in range(100)] + \
              [Observation(float(3 + i % 5), None, frozenset()) for i in range(100)]
    driver = fit_drivers(answers, resamples=4000).drivers[0]
    z = stats.norm.ppf(0.975)
    assert driver.effect == pytest.approx(-2.0, abs=1e-6)
    half_width = (driver.high - driver.low) / 2 / 0.2
    assert z - 0.1 < half_width < z + 0.08, half_width
    assert driver.low < -2.0 < driver.high and driver.hurts
