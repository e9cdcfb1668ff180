"""NPS, CSAT and CES with sample sizes and 95% intervals: every figure says how sure it is."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from statistics import NormalDist
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlmodel import Session

from voc.surveys.models import Response, Survey, Touchpoint

Z95 = 1.959963984540054
SMALL_SAMPLE = 30
_TINY = 1e-300  # keeps the continued fraction's divisions away from zero


class Metric(BaseModel):
    value: float | None
    n: int
    ci_low: float | None
    ci_high: float | None
    small_sample: bool
    breakdown: dict[str, int] = {}


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz; converges for x < (a+1)/(a+b+2))."""
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    fraction = d
    for m in range(1, 10_000):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            fraction *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return fraction


def regularized_beta(x: float, a: float, b: float) -> float:
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1) / (a + b + 2):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1.0 - x) / b


def student_t_tail(t: float, df: float) -> float:
    """P(T > t) for Student's t with df (not necessarily whole) degrees of freedom."""
    square = t * t
    if square < df:  # near the centre: the small argument t²/(df+t²) keeps its precision
        tail = 0.5 - 0.5 * regularized_beta(square / (df + square), 0.5, df / 2)
    else:
        tail = 0.5 * regularized_beta(df / (df + square), df / 2, 0.5)
    return tail if t >= 0 else 1.0 - tail


def _student_t_density(t: float, df: float) -> float:
    return math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
                    - (df + 1) / 2 * math.log1p(t * t / df))


def student_t_quantile(p: float, df: float) -> float:
    """The t with P(T ≤ t) = p for Student's t with df > 0 degrees of freedom (Newton inside a bracket)."""
    if not 0.0 < p < 1.0 or df <= 0:
        raise ValueError("student_t_quantile needs 0 < p < 1 and df > 0")
    if p < 0.5:
        return -student_t_quantile(1.0 - p, df)
    tail = 1.0 - p
    low, high = 0.0, 1.0
    while student_t_tail(high, df) > tail:
        low, high = high, 2 * high
    t = min(max(NormalDist().inv_cdf(p), low), high)
    for _ in range(200):
        excess = student_t_tail(t, df) - tail  # > 0: t is still too small
        low, high = (t, high) if excess > 0 else (low, t)
        density = _student_t_density(t, df)
        step = t + excess / density if density > 0 else math.inf
        following = step if low < step < high else (low + high) / 2
        if abs(following - t) <= 1e-13 * max(1.0, t):
            return following
        t = following
    return t


def t975(df: float) -> float:
    """Student's t quantile for a two-sided 95% interval (infinite below one degree of freedom)."""
    return student_t_quantile(0.975, df) if df >= 1 else math.inf


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval for a proportion, as shares (0..1)."""
    p = successes / n
    denominator = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n * n)) / denominator
    # At 0 or n the bound on that side is exactly 0 or 1 (rounding would leave it a hair inside).
    return (0.0 if successes == 0 else max(0.0, centre - half),
            1.0 if successes == n else min(1.0, centre + half))


def _empty() -> Metric:
    return Metric(value=None, n=0, ci_low=None, ci_high=None, small_sample=True)


def nps_metric(counts: Mapping[int, int]) -> Metric:
    """NPS = %promoters (9–10) − %detractors (0–6); interval from the trinomial variance."""
    n = sum(counts.values())
    if not n:
        return _empty()
    promoters = sum(c for s, c in counts.items() if s >= 9)
    detractors = sum(c for s, c in counts.items() if s <= 6)
    p, d = promoters / n, detractors / n
    value = p - d
    half = Z95 * math.sqrt(max(p + d - value**2, 0.0) / n)
    return Metric(value=round(100 * value, 2), n=n, ci_low=round(max(-100.0, 100 * (value - half)), 2),
                  ci_high=round(min(100.0, 100 * (value + half)), 2), small_sample=n < SMALL_SAMPLE,
                  breakdown={"promoters": promoters, "passives": n - promoters - detractors,
                             "detractors": detractors})


def csat_metric(counts: Mapping[int, int]) -> Metric:
    """CSAT = % of 4–5 answers on the 1–5 scale, with a Wilson interval."""
    n = sum(counts.values())
    if not n:
        return _empty()
    satisfied = sum(c for s, c in counts.items() if s >= 4)
    low, high = wilson_interval(satisfied, n)
    return Metric(value=round(100 * satisfied / n, 2), n=n, ci_low=round(100 * low, 2),
                  ci_high=round(100 * high, 2), small_sample=n < SMALL_SAMPLE,
                  breakdown={"satisfied": satisfied, "not_satisfied": n - satisfied})


def _mean_metric(mean: float, variance: float, n: int, low: float = -math.inf, high: float = math.inf) -> Metric:
    """A mean of n values with its 95% t interval (kept within the scale's [low, high])."""
    if n < 2:
        return Metric(value=round(mean, 3), n=n, ci_low=None, ci_high=None, small_sample=True)
    half = t975(n - 1) * math.sqrt(max(variance, 0.0) / n)
    return Metric(value=round(mean, 3), n=n, ci_low=round(max(low, mean - half), 3),
                  ci_high=round(min(high, mean + half), 3), small_sample=n < SMALL_SAMPLE)


def ces_metric(counts: Mapping[int, int]) -> Metric:
    """CES = mean of the 1–7 answers (higher is easier), with a t interval kept within the scale."""
    n = sum(counts.values())
    if not n:
        return _empty()
    mean = sum(s * c for s, c in counts.items()) / n
    variance = sum(c * (s - mean) ** 2 for s, c in counts.items()) / (n - 1) if n > 1 else 0.0
    return _mean_metric(mean, variance, n, 1.0, 7.0)


def sentiment_metric(n: int, total: float, square_total: float) -> Metric:
    """Mean compound sentiment (−1..1) of n comments from their sum and sum of squares, with a t interval."""
    if not n:
        return _empty()
    mean = total / n
    variance = (square_total - n * mean * mean) / (n - 1) if n > 1 else 0.0
    return _mean_metric(mean, variance, n, -1.0, 1.0)


def score_counts(session: Session, column: Any, *, survey: str | None = None, touchpoint: str | None = None,
                 since: datetime | None = None, until: datetime | None = None) -> dict[int, int]:
    """How many completed responses gave each score of one column (nps, csat or ces)."""
    query = select(column, func.count()).where(column.is_not(None), Response.status == "completed",
                                                 Response.is_test.is_(False)).group_by(column)
    if survey:
        query = query.join(Survey, Survey.id == Response.survey_id).where(Survey.key == survey)
    if touchpoint:
        query = query.join(Touchpoint, Touchpoint.id == Response.touchpoint_id).where(Touchpoint.key == touchpoint)
    if since:
        query = query.where(Response.completed_at >= since)
    if until:
        query = query.where(Response.completed_at < until)
    return {int(score): int(count) for score, count in session.execute(query)}


def compute_metrics(session: Session, **filters: Any) -> dict[str, Metric]:
    """NPS, CSAT and CES over the responses that match the filters."""
    return {
        "nps": nps_metric(score_counts(session, Response.nps, **filters)),
        "csat": csat_metric(score_counts(session, Response.csat, **filters)),
        "ces": ces_metric(score_counts(session, Response.ces, **filters)),
    }
