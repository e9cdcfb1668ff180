"""The Bayesian bootstrap's weights: a cell of k equal answers weighs Gamma(k), the sum of k Exp(1) draws.

If the weights were drawn from any other law, every driver's interval would be too wide or too narrow; the
tests compare thousands of seeded draws with the Gamma law itself (scipy's CDF, Kolmogorov–Smirnov), and its
mean k and variance k."""

from __future__ import annotations

import random
import statistics

import pytest
from scipy import stats

from voc.analytics.drivers import CellWeights, gamma_draw

DRAWS = 20_000


@pytest.mark.parametrize("shape", [1.0, 3.5, 65.0, 1000.0])
def test_marsaglia_tsang_draws_follow_the_gamma_law(shape):
    rng = random.Random(int(shape * 10))
    draws = [gamma_draw(rng, shape) for _ in range(DRAWS)]
    assert min(draws) > 0
    # Mean k and variance k, each within about five standard errors of 20,000 draws.
    assert statistics.fmean(draws) == pytest.approx(shape, abs=5 * (shape / DRAWS) ** 0.5)
    assert statistics.variance(draws) == pytest.approx(shape, rel=5 * (2 / DRAWS) ** 0.5 * (1 + 3 / shape))
    assert stats.kstest(draws, stats.gamma(shape).cdf).pvalue > 0.001


def test_each_cell_weighs_gamma_of_its_count_whether_drawn_from_uniforms_or_directly():
    counts = [1, 2, 7, 64, 65, 300]  # up to 64 answers: −log of a product of uniforms; more: Marsaglia–Tsang
    plan = CellWeights(counts)
    rng = random.Random(5)
    draws = [plan.draw(rng) for _ in range(6000)]
    assert all(len(weights) == len(counts) for weights in draws)
    for index, count in enumerate(counts):
        column = [weights[index] for weights in draws]
        assert statistics.fmean(column) == pytest.approx(count, abs=5 * (count / 6000) ** 0.5), count
        assert statistics.variance(column) == pytest.approx(count, rel=0.15), count
        assert stats.kstest(column, stats.gamma(count).cdf).pvalue > 0.001, count


def test_cells_are_drawn_independently():
    """Two cells never share a draw: their weights are uncorrelated."""
    plan = CellWeights([5, 5, 80, 80])
    rng = random.Random(9)
    draws = [plan.draw(rng) for _ in range(4000)]
    for a, b in ((0, 1), (2, 3), (1, 2)):
        correlation = statistics.correlation([w[a] for w in draws], [w[b] for w in draws])
        assert abs(correlation) < 0.07, (a, b, correlation)
