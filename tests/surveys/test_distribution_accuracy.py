"""How exact the t quantile behind every CES and sentiment interval (and Welch's interval of a change) is, against
scipy over a grid of degrees of freedom and probabilities: to 1e-8 of the value, a hundred times what a figure
rounded to three places needs. Welch's degrees of freedom are fractional, so the grid is too. And the places
the API gives NPS and CSAT to, with their intervals: two."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from voc.surveys.metrics import csat_metric, nps_metric, regularized_beta, student_t_quantile, student_t_tail, t975

# Whole df (n − 1 of a mean of n answers), fractional df between 1 and 3 in steps of 0.01 (Welch), and
# df from 25 up to a million on a log scale (large samples, where t is nearly normal).
WHOLE = list(range(1, 61))
FRACTIONAL = [round(df, 2) for df in np.arange(1.0, 3.0, 0.01)]
LARGE = [float(df) for df in np.logspace(np.log10(25), 6, 60)]


@pytest.mark.parametrize("dfs", [WHOLE, FRACTIONAL, LARGE], ids=["whole", "fractional", "large"])
def test_the_95_percent_t_quantile_agrees_with_scipy_to_1e_8(dfs):
    expected = stats.t.ppf(0.975, dfs)
    for df, quantile in zip(dfs, expected, strict=True):
        assert t975(df) == pytest.approx(quantile, rel=1e-8), df


def test_the_95_percent_t_quantile_of_a_printed_table():
    # Two-sided 95% points of Student's t as printed in any table: 12.706 (1), 4.303 (2), 2.228 (10),
    # 2.045 (29), 1.984 (100), and 1.960 for the normal (a million df is within 1e-6 of it).
    assert [round(t975(df), 3) for df in (1, 2, 10, 29, 100)] == [12.706, 4.303, 2.228, 2.045, 1.984]
    assert t975(1_000_000) == pytest.approx(1.959964, abs=1e-5)


# Other levels a report may ask for: a 50% interval (the quartile), 60, 70, 80 and 90%, and one-sided tests.
LEVELS = [0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99, 0.995, 0.999]
DFS = [1, 1.25, 1.5, 1.75, 2, 2.5, 3, 4, 5, 7.3, 9.3, 14.6, 29, 30, 57.25, 120, 1000, 12345.6]


@pytest.mark.parametrize("df", DFS)
def test_t_quantiles_at_every_level_agree_with_scipy(df):
    expected = stats.t.ppf(LEVELS, df)
    for p, quantile in zip(LEVELS, expected, strict=True):
        assert student_t_quantile(p, df) == pytest.approx(quantile, rel=1e-8), p
        assert student_t_quantile(1 - p, df) == pytest.approx(-quantile, rel=1e-8), p  # symmetric


def test_the_t_tail_is_one_half_at_zero_and_continuous_where_its_two_formulas_meet():
    # P(T > 0) = 1/2 exactly, from either side; at t² = df the code switches formula: both sides agree with scipy.
    for df in (1, 2.5, 30, 4000):
        assert student_t_tail(0.0, df) == 0.5 and student_t_tail(-0.0, df) == 0.5
        edge = df**0.5
        for t in (edge * (1 - 1e-12), edge, edge * (1 + 1e-12), -edge):
            assert student_t_tail(t, df) == pytest.approx(stats.t.sf(t, df), rel=1e-10), (df, t)


@pytest.mark.parametrize(("a", "b"), [(0.5, 0.5), (0.5, 15.0), (1.0, 1.0), (2.5, 0.5), (15.0, 0.5), (20.0, 40.0),
                                      (500.0, 0.5), (5000.0, 3.0)])
def test_the_regularized_beta_agrees_with_scipy_either_side_of_where_it_switches_formula(a, b):
    # Below x = (a + 1)/(a + b + 2) the continued fraction is evaluated directly, above it through
    # I_x(a, b) = 1 − I_{1−x}(b, a): both must give scipy's value, however close to the switch.
    switch = (a + 1) / (a + b + 2)
    room = min(switch, 1 - switch)
    xs = [switch - 1e-3 * room, switch - 1e-12, switch, switch + 1e-12, switch + 1e-3 * room,
          *np.linspace(0.01, 0.99, 25)]
    for x in xs:
        expected = special.betainc(a, b, x)
        assert regularized_beta(x, a, b) == pytest.approx(expected, rel=1e-9, abs=1e-15), x


def test_nps_and_csat_and_their_intervals_are_given_to_two_places():
    # CSAT 2 of 3: 66.666… → 66.67. Wilson, z² = 3.841459: centre (2/3 + z²/6)/(1 + z²/3) = 1.306910/2.280486
    # = 0.573084; half = z · √(2/27 + z²/36)/2.280486 = 1.959964 · 0.425183/2.280486 = 0.365424:
    # 20.766% to 93.851%, given as 20.77 and 93.85.
    csat = csat_metric({5: 1, 4: 1, 2: 1})
    assert (csat.value, csat.ci_low, csat.ci_high) == (66.67, 20.77, 93.85)
    # NPS of 5 promoters, 3 passives, 2 detractors: +30; variance 0.5 + 0.2 − 0.3² = 0.61; half = 1.959964 ·
    # √0.061 = 48.4077 points: −18.4077 to 78.4077, given as −18.41 and 78.41.
    nps = nps_metric({10: 3, 9: 2, 8: 2, 7: 1, 4: 1, 0: 1})
    assert (nps.value, nps.ci_low, nps.ci_high) == (30.0, -18.41, 78.41)
