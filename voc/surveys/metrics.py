"""NPS, CSAT and CES with sample sizes and 95% intervals: every figure says how sure it is."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlmodel import Session

from voc.surveys.models import Response, Survey, Touchpoint

Z95 = 1.959963984540054
SMALL_SAMPLE = 30
# Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom.
_T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042]


class Metric(BaseModel):
    value: float | None
    n: int
    ci_low: float | None
    ci_high: float | None
    small_sample: bool
    breakdown: dict[str, int] = {}


def t975(df: int) -> float:
    """Student's t quantile for a 95% interval (Hill's expansion beyond the table)."""
    if df < 1:
        return math.inf
    if df <= len(_T975):
        return _T975[df - 1]
    z = Z95
    return (z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3))


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
    p = satisfied / n
    denom = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denom
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denom
    return Metric(value=round(100 * p, 2), n=n, ci_low=round(100 * max(0.0, centre - half), 2),
                  ci_high=round(100 * min(1.0, centre + half), 2), small_sample=n < SMALL_SAMPLE,
                  breakdown={"satisfied": satisfied, "not_satisfied": n - satisfied})


def ces_metric(counts: Mapping[int, int]) -> Metric:
    """CES = mean of the 1–7 answers (higher is easier), with a t interval."""
    n = sum(counts.values())
    if not n:
        return _empty()
    mean = sum(s * c for s, c in counts.items()) / n
    if n < 2:
        return Metric(value=round(mean, 3), n=n, ci_low=None, ci_high=None, small_sample=True)
    variance = sum(c * (s - mean) ** 2 for s, c in counts.items()) / (n - 1)
    half = t975(n - 1) * math.sqrt(variance / n)
    return Metric(value=round(mean, 3), n=n, ci_low=round(mean - half, 3), ci_high=round(mean + half, 3),
                  small_sample=n < SMALL_SAMPLE)


def score_counts(session: Session, column: Any, *, survey: str | None = None, touchpoint: str | None = None,
                 since: datetime | None = None, until: datetime | None = None) -> dict[int, int]:
    """How many completed responses gave each score of one column (nps, csat or ces)."""
    query = select(column, func.count()).where(column.is_not(None)).group_by(column)
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
