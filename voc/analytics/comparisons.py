"""Comparing two periods, and many tests at once: every change comes with its 95% interval and both n.

Each measure is compared by a method valid for it: NPS by the trinomial variance of each side, a proportion
(CSAT's top-2-box share) by Newcombe's hybrid score interval, a mean (CES) by Welch's t interval. A change is
significant when its interval excludes 0, and never when either side has fewer than `SMALL_SAMPLE` answers
or no variance: a side of four identical answers says nothing about how much the figure moves."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import astuple, dataclass, replace

from voc.surveys.metrics import SMALL_SAMPLE, Z95, t975, wilson_interval

NO_ANSWERS = "no answers to compare with"
TOO_FEW = "too few answers to compare"
NO_VARIANCE = "no variance to compare"
FALSE_DISCOVERY_RATE = 0.05


@dataclass(frozen=True)
class Difference:
    """Now minus before with its 95% interval and both n; `reason` says why there is no interval."""

    delta: float | None
    low: float | None
    high: float | None
    n_now: int
    n_before: int
    reason: str | None = None

    @property
    def significant(self) -> bool:
        """Whether the 95% interval excludes 0 (never without an interval)."""
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)

    def scaled(self, factor: float) -> Difference:
        """The same difference in other units (a share × 100 is percentage points)."""
        def times(value: float | None) -> float | None:
            return None if value is None else value * factor
        return replace(self, delta=times(self.delta), low=times(self.low), high=times(self.high))


def refusal(n_now: int, n_before: int, variance_now: float, variance_before: float) -> str | None:
    """Why two samples may not be compared (no answers, too few, no variance), or None when they may."""
    if not n_now or not n_before:
        return NO_ANSWERS
    if min(n_now, n_before) < SMALL_SAMPLE:
        return TOO_FEW
    if variance_now <= 0 or variance_before <= 0:
        return NO_VARIANCE
    return None


def _nps_variance(promoters: int, detractors: int, n: int) -> float:
    """The trinomial variance of one answer's promoter (+1) / passive (0) / detractor (−1) score."""
    p, d = promoters / n, detractors / n
    return max(p + d - (p - d) ** 2, 0.0)


def nps_interval(promoters_now: int, detractors_now: int, n_now: int, promoters_before: int,
                 detractors_before: int, n_before: int) -> tuple[float, float]:
    """95% interval of NPS now − before in points: ± 1.96·√(Var₁/n₁ + Var₂/n₂), each side trinomial."""
    delta = (promoters_now - detractors_now) / n_now - (promoters_before - detractors_before) / n_before
    half = Z95 * math.sqrt(_nps_variance(promoters_now, detractors_now, n_now) / n_now
                           + _nps_variance(promoters_before, detractors_before, n_before) / n_before)
    return max(-200.0, 100 * (delta - half)), min(200.0, 100 * (delta + half))


def newcombe_interval(successes_now: int, n_now: int, successes_before: int, n_before: int
                      ) -> tuple[float, float]:
    """95% interval of p₁ − p₂ by Newcombe's hybrid score method (his method 10, from two Wilson intervals)."""
    p1, p2 = successes_now / n_now, successes_before / n_before
    low1, high1 = wilson_interval(successes_now, n_now)
    low2, high2 = wilson_interval(successes_before, n_before)
    delta = p1 - p2
    return (max(-1.0, delta - math.hypot(p1 - low1, high2 - p2)),
            min(1.0, delta + math.hypot(high1 - p1, p2 - low2)))


def welch_degrees_of_freedom(variance_now: float, n_now: int, variance_before: float, n_before: int) -> float:
    """The Welch–Satterthwaite degrees of freedom of a difference of two means."""
    a, b = variance_now / n_now, variance_before / n_before
    return (a + b) ** 2 / (a * a / (n_now - 1) + b * b / (n_before - 1))


def welch_interval(mean_now: float, variance_now: float, n_now: int, mean_before: float,
                   variance_before: float, n_before: int) -> tuple[float, float]:
    """95% interval of mean₁ − mean₂ by Welch's t (sample variances, n − 1 denominators)."""
    delta = mean_now - mean_before
    half = (t975(welch_degrees_of_freedom(variance_now, n_now, variance_before, n_before))
            * math.sqrt(variance_now / n_now + variance_before / n_before))
    return delta - half, delta + half


def nps_difference(promoters_now: int, detractors_now: int, n_now: int, promoters_before: int,
                   detractors_before: int, n_before: int) -> Difference:
    """The change of NPS in points, with its interval when both sides may be compared."""
    if not n_now or not n_before:
        return Difference(None, None, None, n_now, n_before, NO_ANSWERS)
    delta = 100 * ((promoters_now - detractors_now) / n_now - (promoters_before - detractors_before) / n_before)
    reason = refusal(n_now, n_before, _nps_variance(promoters_now, detractors_now, n_now),
                     _nps_variance(promoters_before, detractors_before, n_before))
    if reason:
        return Difference(delta, None, None, n_now, n_before, reason)
    return Difference(delta, *nps_interval(promoters_now, detractors_now, n_now, promoters_before,
                                           detractors_before, n_before), n_now, n_before)


def proportion_difference(successes_now: int, n_now: int, successes_before: int, n_before: int) -> Difference:
    """The change of a proportion (as a share, 0..1), with Newcombe's interval when both sides may be compared."""
    if not n_now or not n_before:
        return Difference(None, None, None, n_now, n_before, NO_ANSWERS)
    p1, p2 = successes_now / n_now, successes_before / n_before
    reason = refusal(n_now, n_before, p1 * (1 - p1), p2 * (1 - p2))
    if reason:
        return Difference(p1 - p2, None, None, n_now, n_before, reason)
    return Difference(p1 - p2, *newcombe_interval(successes_now, n_now, successes_before, n_before),
                      n_now, n_before)


def mean_difference(mean_now: float, variance_now: float, n_now: int, mean_before: float,
                    variance_before: float, n_before: int) -> Difference:
    """The change of a mean, with Welch's interval when both sides may be compared."""
    if not n_now or not n_before:
        return Difference(None, None, None, n_now, n_before, NO_ANSWERS)
    reason = refusal(n_now, n_before, variance_now, variance_before)
    if reason:
        return Difference(mean_now - mean_before, None, None, n_now, n_before, reason)
    return Difference(mean_now - mean_before, *welch_interval(mean_now, variance_now, n_now, mean_before,
                                                              variance_before, n_before), n_now, n_before)


def nps_change(now: Mapping[int, int], before: Mapping[int, int]) -> Difference:
    """NPS now − before in points, from each period's count of every 0–10 answer."""
    def groups(counts: Mapping[int, int]) -> tuple[int, int, int]:
        return (sum(c for s, c in counts.items() if s >= 9), sum(c for s, c in counts.items() if s <= 6),
                sum(counts.values()))
    return nps_difference(*groups(now), *groups(before))


def csat_change(now: Mapping[int, int], before: Mapping[int, int]) -> Difference:
    """CSAT (share of 4–5 answers) now − before in percentage points, from each period's 1–5 counts."""
    def satisfied(counts: Mapping[int, int]) -> tuple[int, int]:
        return sum(c for s, c in counts.items() if s >= 4), sum(counts.values())
    return proportion_difference(*satisfied(now), *satisfied(before)).scaled(100)


def ces_change(now: Mapping[int, int], before: Mapping[int, int]) -> Difference:
    """CES (mean 1–7 answer) now − before, from each period's counts."""
    def moments(counts: Mapping[int, int]) -> tuple[float, float, int]:
        n = sum(counts.values())
        mean = sum(s * c for s, c in counts.items()) / n if n else 0.0
        variance = sum(c * (s - mean) ** 2 for s, c in counts.items()) / (n - 1) if n > 1 else 0.0
        return mean, variance, n
    return mean_difference(*moments(now), *moments(before))


@dataclass(frozen=True)
class Discovery:
    """One test after the Benjamini–Hochberg correction: its p, its q and whether it is a discovery."""

    p: float | None
    q: float | None
    significant: bool


def benjamini_hochberg(p_values: Sequence[float | None], rate: float = FALSE_DISCOVERY_RATE) -> list[Discovery]:
    """q-values (BH-adjusted p) in the input's order; q ≤ rate keeps the false-discovery rate at `rate`.

    None stands for a cell that was not tested (too few answers): it is not counted among the tests."""
    if any(p is not None and not 0.0 <= p <= 1.0 for p in p_values):
        raise ValueError("p-values lie between 0 and 1")
    tested = sorted((p, index) for index, p in enumerate(p_values) if p is not None)
    q_values: list[float | None] = [None] * len(p_values)
    smallest = 1.0
    for rank in range(len(tested), 0, -1):  # from the largest p down: q is the running minimum of p·m/rank
        p, index = tested[rank - 1]
        smallest = min(smallest, p * len(tested) / rank)
        q_values[index] = smallest
    return [Discovery(p, q, q is not None and q <= rate) for p, q in zip(p_values, q_values, strict=True)]


def _two_sided_p(z: float) -> float:
    """Two-sided p-value of a standard normal statistic."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def proportion_p_value(successes_now: int, n_now: int, successes_before: int, n_before: int) -> float | None:
    """Two-sided p of the pooled two-proportion z test (Pearson's χ² on the 2×2 table, no continuity
    correction); None when the sides may not be compared: either has fewer than SMALL_SAMPLE, or the pooled
    share is 0 or 1. A theme absent before is compared: under "no change" its pooled share has variance."""
    if min(n_now, n_before) < SMALL_SAMPLE:
        return None
    pooled = (successes_now + successes_before) / (n_now + n_before)
    variance = pooled * (1 - pooled) * (1 / n_now + 1 / n_before)
    if variance <= 0:
        return None
    return _two_sided_p((successes_now / n_now - successes_before / n_before) / math.sqrt(variance))


@dataclass(frozen=True)
class WeightedSums:
    """Sums that give a weighted mean and its variance, and add up across groups: n, Σw, Σw·v, Σw², Σw²·v, Σw²·v²."""

    n: int = 0
    w: float = 0.0
    wv: float = 0.0
    ww: float = 0.0
    wwv: float = 0.0
    wwvv: float = 0.0

    @classmethod
    def of(cls, pairs: Iterable[tuple[float, float]]) -> WeightedSums:
        """The sums of (weight, value) pairs."""
        n, w, wv, ww, wwv, wwvv = 0, 0.0, 0.0, 0.0, 0.0, 0.0
        for weight, value in pairs:
            n, w, wv = n + 1, w + weight, wv + weight * value
            ww, wwv, wwvv = ww + weight * weight, wwv + weight * weight * value, wwvv + weight * weight * value * value
        return cls(n, w, wv, ww, wwv, wwvv)

    def __add__(self, other: WeightedSums) -> WeightedSums:
        return WeightedSums(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))

    def __sub__(self, other: WeightedSums) -> WeightedSums:
        return WeightedSums(*(a - b for a, b in zip(astuple(self), astuple(other), strict=True)))

    @property
    def mean(self) -> float | None:
        """Σw·v / Σw."""
        return self.wv / self.w if self.w > 0 else None

    @property
    def variance_of_mean(self) -> float:
        """The sandwich (ratio-estimator) variance of the weighted mean: Σw²(v − mean)² / (Σw)²."""
        mean = self.mean
        if mean is None:
            return 0.0
        return max(self.wwvv - 2 * mean * self.wwv + mean * mean * self.ww, 0.0) / (self.w * self.w)


def weighted_mean_p_value(now: WeightedSums, other: WeightedSums) -> float | None:
    """Two-sided p that two weighted means differ (z on the difference, each mean's sandwich variance); None
    when either side has fewer than SMALL_SAMPLE values or no spread."""
    if min(now.n, other.n) < SMALL_SAMPLE or now.mean is None or other.mean is None:
        return None
    variance_now, variance_other = now.variance_of_mean, other.variance_of_mean
    if variance_now <= 0 or variance_other <= 0:
        return None
    return _two_sided_p((now.mean - other.mean) / math.sqrt(variance_now + variance_other))
