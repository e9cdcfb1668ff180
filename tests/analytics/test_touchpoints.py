"""The experience heatmap marks a cell only when it stands out from its column after the Benjamini–Hochberg
correction across the page's cells: figures worked out here with numpy and scipy, and a simulation of cells
that differ only by chance."""

from __future__ import annotations

import random

import numpy as np
import pytest
from scipy import stats

from voc.analytics.comparisons import WeightedSums
from voc.analytics.touchpoints import mark_standouts


def _pairs(rng: random.Random, n: int, centre: float) -> list[tuple[float, float]]:
    return [(round(rng.uniform(0.2, 1.0), 3), round(max(-1.0, min(1.0, rng.gauss(centre, 0.5))), 3)) for _ in range(n)]


def _cell(dimension: str, pairs: list[tuple[float, float]]) -> dict:
    sums = WeightedSums.of(pairs)
    return {"dimension": dimension, "n": len(pairs), "valence": sums.mean, "sums": sums, "pairs": pairs}


def _p(cell: list[tuple[float, float]], rest: list[tuple[float, float]]) -> float:
    """Weighted means and their sandwich variances Σw²(v − m)²/(Σw)², straight from the comments."""
    def mean_and_variance(pairs):
        w, v = np.array(pairs).T
        mean = np.average(v, weights=w)
        return mean, (w**2 * (v - mean) ** 2).sum() / w.sum() ** 2
    (m1, v1), (m2, v2) = mean_and_variance(cell), mean_and_variance(rest)
    return float(2 * stats.norm.sf(abs(m1 - m2) / np.sqrt(v1 + v2)))


def test_cells_are_marked_after_the_correction_not_before():
    rng = random.Random(33)  # a draw where the sense cells land just under p = 0.05 (p 0.0485, q 0.0606)
    cells = [
        _cell("act", _pairs(rng, 120, -0.45)), _cell("act", _pairs(rng, 120, -0.10)),
        _cell("act", _pairs(rng, 120, 0.05)),
        _cell("sense", _pairs(rng, 60, 0.38)), _cell("sense", _pairs(rng, 60, 0.18)),
        _cell("relate", _pairs(rng, 10, -0.9)), _cell("relate", _pairs(rng, 300, 0.5)),  # 10 comments: no test
    ]
    assert mark_standouts(cells) == 5
    columns = {"act": cells[:3], "sense": cells[3:5]}
    p = [_p(cell["pairs"], [x for c in columns[cell["dimension"]] if c is not cell for x in c["pairs"]])
         for cell in cells[:5]]
    # The published procedure: m = 5 tests, q(i) = min over j ≥ i of p(j)·5/j, p ascending.
    order = sorted(range(5), key=p.__getitem__)
    q, running = [0.0] * 5, 1.0
    for rank in range(5, 0, -1):
        running = min(running, p[order[rank - 1]] * 5 / rank)
        q[order[rank - 1]] = running
    assert q == pytest.approx(list(stats.false_discovery_control(p)))
    for cell, p_value, q_value in zip(cells, p, q, strict=False):
        assert cell["discovery"].p == pytest.approx(p_value, rel=1e-6)
        assert cell["discovery"].q == pytest.approx(q_value, rel=1e-6)
        assert (cell["standout"] is not None) == (q_value <= 0.05)
    assert cells[0]["standout"] == "below" and cells[2]["standout"] == "above"
    assert p[3] < 0.05 < q[3] and cells[3]["standout"] is None  # alone it would pass at 5%; among five it does not
    assert cells[5]["discovery"].p is None and cells[6]["discovery"].p is None  # its rest is 10 comments


def test_cells_that_differ_only_by_chance_are_rarely_marked():
    rng = random.Random(5)
    marked = 0
    for _page in range(200):
        cells = []
        for dimension in ("sense", "feel", "think", "act", "relate"):
            centre = rng.uniform(-0.5, 0.5)
            cells += [_cell(dimension, _pairs(rng, rng.randint(20, 120), centre)) for _touchpoint in range(6)]
        mark_standouts(cells)
        marked += any(cell["standout"] for cell in cells)
    assert marked / 200 <= 0.07  # the chance that a page of 30 null cells marks any cell at all: about 5%
