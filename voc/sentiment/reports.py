"""Themes across responses: how often each comes up, per survey and touchpoint, and how it feels."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlmodel import Session

from voc.sentiment.themes import theme_key
from voc.surveys.models import Response, Survey, Touchpoint


class ThemeCount(BaseModel):
    theme: str
    key: str
    count: int
    mean_sentiment: float | None
    negative_share: float
    by_touchpoint: dict[str, int]


def theme_counts(session: Session, *, survey: str | None = None, touchpoint: str | None = None,
                 since: datetime | None = None, until: datetime | None = None, limit: int = 50) -> list[ThemeCount]:
    """The most frequent themes of analysed responses matching the filters, with their sentiment."""
    query = (select(Response.analysis, Response.sentiment, Touchpoint.key)
             .outerjoin(Touchpoint, Touchpoint.id == Response.touchpoint_id)
             .where(Response.analysis.is_not(None)))
    if survey:
        query = query.join(Survey, Survey.id == Response.survey_id).where(Survey.key == survey)
    if touchpoint:
        query = query.where(Touchpoint.key == touchpoint)
    if since:
        query = query.where(Response.completed_at >= since)
    if until:
        query = query.where(Response.completed_at < until)
    labels: dict[str, Counter[str]] = defaultdict(Counter)
    sentiments: dict[str, list[float]] = defaultdict(list)
    places: dict[str, Counter[str]] = defaultdict(Counter)
    counts: Counter[str] = Counter()
    for analysis, sentiment, touchpoint_key in session.execute(query):
        for theme in set((analysis or {}).get("themes") or []):
            key = theme_key(theme)
            counts[key] += 1
            labels[key][theme] += 1
            places[key][touchpoint_key or "-"] += 1
            if sentiment is not None:
                sentiments[key].append(sentiment)
    return [
        ThemeCount(theme=labels[key].most_common(1)[0][0], key=key, count=count,
                   mean_sentiment=round(sum(sentiments[key]) / len(sentiments[key]), 4) if sentiments[key] else None,
                   negative_share=round(sum(s <= -0.05 for s in sentiments[key]) / count, 4),
                   by_touchpoint=dict(places[key].most_common()))
        for key, count in counts.most_common(limit)
    ]
