"""Key-driver analysis: which touchpoints, themes and feelings move a score, by how much, and how sure we are.

One least-squares model of the score on 0/1 indicators, so each effect holds the others equal (a touchpoint
that is low only because its customers write about wait time does not also take the blame for wait time).
The 95% intervals are percentiles of a seeded Bayesian bootstrap (Rubin 1981: every answer weighted by an
Exp(1) draw, the model refitted per draw), so they are reproducible and need no normality of the score.
Answers sharing their indicators and their score are one cell whose weight is a single Gamma(count) draw:
a resample costs the number of cells (hundreds), not of answers (thousands), and the model has a few dozen
columns at most, so plain Python suffices (normal equations, Cholesky).

What an effect means:
- a flag (a theme mentioned, a dimension felt negatively): its coefficient, how much higher or lower answers
  with it score than answers without it, everything else equal;
- a level of the categorical driver (the answer's touchpoint): its coefficient less the answer-weighted mean
  of the other levels', how its answers differ from those given at the other touchpoints.
Reach is the share of answers with the driver and impact = reach × effect: for a negative effect, what the
overall score would gain if those answers scored like the rest. An estimate needs at least `min_n` answers
with the driver and `min_n` without it; fewer are reported with no figure rather than a wild one.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from operator import mul

RESAMPLES = 200
SEED = 20261205
MIN_ANSWERS = 30  # as voc.surveys.metrics.SMALL_SAMPLE: fewer answers get no figure
_FEW = 64  # a cell of at most this many answers draws its weight from uniforms, a larger one by Marsaglia–Tsang
_RIDGE = 1e-9  # relative to the total weight: keeps a column that a resample left empty solvable (its β → 0)


@dataclass(frozen=True)
class Observation:
    """One answer: its score, its level of the categorical driver (None: none), and the flags it carries."""

    score: float
    level: Hashable | None = None
    flags: frozenset[Hashable] = frozenset()


@dataclass(frozen=True)
class DriverEffect:
    """One driver: the answers with it, and its effect on the score with a 95% interval (None: too few)."""

    key: Hashable
    categorical: bool  # a level of the categorical driver, else a flag
    n: int  # answers with the driver
    reach: float  # their share of every answer
    effect: float | None = None
    low: float | None = None
    high: float | None = None

    @property
    def estimated(self) -> bool:
        return self.effect is not None

    @property
    def impact(self) -> float | None:
        """reach × effect: the change of the overall score owed to this driver."""
        return None if self.effect is None else self.reach * self.effect

    @property
    def hurts(self) -> bool:
        """Lowers the score: the whole interval is below zero."""
        return self.high is not None and self.high < 0

    @property
    def lifts(self) -> bool:
        """Raises the score: the whole interval is above zero."""
        return self.low is not None and self.low > 0


@dataclass
class DriverFit:
    """Every driver of one score over `n` answers (mean score `mean`)."""

    n: int
    mean: float | None
    resamples: int
    drivers: list[DriverEffect] = field(default_factory=list)

    def fix_first(self) -> list[DriverEffect]:
        """Drivers that lower the score, the largest loss (most negative impact) first."""
        return sorted((d for d in self.drivers if d.hurts), key=lambda d: (d.impact or 0.0, str(d.key)))


def cholesky_solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """x with matrix · x = vector, for a symmetric positive definite matrix (lower triangle read)."""
    size = len(vector)
    lower = [[0.0] * size for _ in range(size)]
    for i in range(size):
        row = lower[i]
        for j in range(i + 1):
            other = lower[j]
            total = matrix[i][j] - sum(map(mul, row[:j], other[:j]))
            if i == j:
                if total <= 0.0:
                    raise ValueError("the matrix is not positive definite")
                row[i] = total ** 0.5
            else:
                row[j] = total / other[j]
    forward = [0.0] * size
    for i in range(size):
        forward[i] = (vector[i] - sum(map(mul, lower[i][:i], forward[:i]))) / lower[i][i]
    upper = [list(column) for column in zip(*lower, strict=True)]  # the transpose: row i is column i of lower
    solution = [0.0] * size
    for i in reversed(range(size)):
        solution[i] = (forward[i] - sum(map(mul, upper[i][i + 1:], solution[i + 1:]))) / upper[i][i]
    return solution


def gamma_draw(rng: random.Random, shape: float) -> float:
    """A Gamma(shape, 1) draw, shape ≥ 1, by Marsaglia and Tsang (2000): exact, about one normal draw each
    (random.gammavariate's method costs several times more, and a fit makes tens of thousands)."""
    d = shape - 1 / 3
    c = 1 / (9 * d) ** 0.5
    while True:
        x = rng.gauss()
        v = 1 + c * x
        if v <= 0:
            continue
        v = v * v * v
        u = rng.random()
        if u < 1 - 0.0331 * x ** 4 or math.log(u) < 0.5 * x * x + d * (1 - v + math.log(v)):
            return d * v


class CellWeights:
    """The Bayesian bootstrap's weight of each cell of `counts` equal answers: a sum of that many Exp(1) draws,
    Gamma(count).

    A cell of up to _FEW answers takes −log of the product of as many uniforms: drawn in one list and
    multiplied slice by slice, it costs a fraction of a normal draw. A larger cell draws Gamma directly (a
    product of more uniforms could underflow)."""

    def __init__(self, counts: Sequence[int]) -> None:
        self.slices, self.large, at = [], [], 0
        for index, count in enumerate(counts):
            if count <= _FEW:
                self.slices.append((at, at + count))
                at += count
            else:
                self.slices.append((0, 0))  # replaced by a Gamma draw
                self.large.append((index, count))
        self.uniforms = at

    def draw(self, rng: random.Random) -> list[float]:
        unit, log, prod = rng.random, math.log, math.prod
        uniforms = [1.0 - unit() for _ in range(self.uniforms)]  # in (0, 1]
        weights = [-log(prod(uniforms[a:b])) for a, b in self.slices]
        for index, count in self.large:
            weights[index] = gamma_draw(rng, count)
        return weights


def percentile(ordered: Sequence[float], share: float) -> float:
    """The `share` quantile of sorted values, interpolated between neighbours."""
    position = share * (len(ordered) - 1)
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


class _Design:
    """The model's columns and the answers grouped into cells of equal indicators and score."""

    def __init__(self, observations: Sequence[Observation], levels: list[Hashable], reference: Hashable,
                 flags: list[Hashable]) -> None:
        # Column 0 is the intercept; then each level but the reference; then each flag.
        self.level_column = {level: 1 + i for i, level in enumerate(x for x in levels if x != reference)}
        self.flag_column = {flag: 1 + len(self.level_column) + i for i, flag in enumerate(flags)}
        self.size = 1 + len(self.level_column) + len(flags)
        patterns: dict[tuple[int, ...], int] = {}
        cells: Counter[tuple[int, float]] = Counter()
        for o in observations:
            columns = [0]
            if o.level in self.level_column:
                columns.append(self.level_column[o.level])
            columns += sorted(self.flag_column[f] for f in o.flags if f in self.flag_column)
            pattern = patterns.setdefault(tuple(columns), len(patterns))
            cells[(pattern, float(o.score))] += 1
        self.patterns = list(patterns)
        self.cell_pattern = [pattern for pattern, _ in cells]
        self.cell_score = [score for _, score in cells]
        self.cell_count = list(cells.values())
        # For each entry of the matrix, the patterns holding both columns: an entry is then one C-level sum.
        holders: dict[tuple[int, int], list[int]] = {}
        for index, columns in enumerate(self.patterns):
            for a, i in enumerate(columns):
                for j in columns[:a + 1]:
                    holders.setdefault((i, j), []).append(index)
        self.entries = list(holders.items())

    def solve(self, cell_weights: Sequence[float]) -> list[float]:
        """Weighted least-squares coefficients for these weights of the cells."""
        weight = [0.0] * len(self.patterns)
        weighted_score = [0.0] * len(self.patterns)
        for pattern, score, w in zip(self.cell_pattern, self.cell_score, cell_weights, strict=True):
            weight[pattern] += w
            weighted_score[pattern] += w * score
        size = self.size
        matrix = [[0.0] * size for _ in range(size)]
        vector = [0.0] * size
        for (i, j), holders in self.entries:
            matrix[i][j] = sum(map(weight.__getitem__, holders))
            if i == j:
                vector[i] = sum(map(weighted_score.__getitem__, holders))
        ridge = _RIDGE * matrix[0][0]
        for i in range(1, size):
            matrix[i][i] += ridge
        return cholesky_solve(matrix, vector)


def fit_drivers(observations: Sequence[Observation], *, resamples: int = RESAMPLES, seed: int = SEED,
                min_n: int = MIN_ANSWERS, level: float = 0.95) -> DriverFit:
    """Each level's and flag's effect on the score with its interval, reach and impact (see the module)."""
    n = len(observations)
    level_counts = Counter(o.level for o in observations)
    flag_counts = Counter(f for o in observations for f in o.flags)
    mean = sum(o.score for o in observations) / n if n else None

    def enough(count: int) -> bool:
        return count >= min_n and n - count >= min_n

    # A level or flag every answer has is no driver (nothing to compare with): it is left out.
    named_levels = [x for x in level_counts if x is not None and level_counts[x] < n]
    levels = [x for x in named_levels if enough(level_counts[x])]
    flags = [x for x in flag_counts if flag_counts[x] < n and enough(flag_counts[x])]
    fit = DriverFit(n, mean, resamples)
    effects: dict[tuple[bool, Hashable], list[float]] = {}
    if levels or flags:
        # Levels too small to estimate, and answers with no level, pool into one level of their own.
        pooled = object()
        observations = [o if o.level in levels else Observation(o.score, pooled, o.flags) for o in observations]
        counts = Counter(o.level for o in observations)
        reference = pooled if counts[pooled] else max(levels, key=lambda x: counts[x])
        all_levels = [*levels, pooled] if counts[pooled] else levels
        design = _Design(observations, all_levels, reference, flags)
        shares = {x: counts[x] for x in all_levels}

        def derived(beta: list[float]) -> dict[tuple[bool, Hashable], float]:
            coefficient = {x: beta[design.level_column[x]] if x in design.level_column else 0.0 for x in all_levels}
            out = {}
            for x in levels:
                others = n - shares[x]
                out[(True, x)] = coefficient[x] - sum(shares[y] * coefficient[y] for y in all_levels
                                                      if y != x) / others
            for x in flags:
                out[(False, x)] = beta[design.flag_column[x]]
            return out

        point = derived(design.solve(design.cell_count))
        rng = random.Random(seed)
        draws: dict[tuple[bool, Hashable], list[float]] = {key: [] for key in point}
        plan = CellWeights(design.cell_count)
        for _ in range(resamples):
            weights = plan.draw(rng)
            try:
                estimate = derived(design.solve(weights))
            except ValueError:  # a degenerate resample (columns that coincide): drawn again by the next one
                continue
            for key, value in estimate.items():
                draws[key].append(value)
        tail = (1 - level) / 2
        for key, value in point.items():
            ordered = sorted(draws[key])
            effects[key] = [value, percentile(ordered, tail), percentile(ordered, 1 - tail)] if ordered else []
    for categorical, keys, counter in ((True, named_levels, level_counts), (False, list(flag_counts), flag_counts)):
        for key in keys:
            if counter[key] >= n:
                continue
            found = effects.get((categorical, key))
            fit.drivers.append(DriverEffect(key, categorical, counter[key], counter[key] / n,
                                            *(found if found else (None, None, None))))
    return fit
