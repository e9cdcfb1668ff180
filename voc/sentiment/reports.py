"""Themes across responses: how often each comes up, how it feels, where, and which hurt most.

Themes are ranked by impact, the number of negative comments that raise them (mentions × negative
share), then by mentions: "wait time" raised 65 times, 87% negatively, comes before "product" raised
200 times, mostly in praise. Each theme is shown by the label its comments carry most often, and
grouped by theme_key, so a label is also the filter that finds its comments.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlmodel import Session

from voc.sentiment.model import NEGATIVE_THRESHOLD
from voc.sentiment.themes import theme_key
from voc.surveys.models import Response, Survey, Touchpoint

ThemeSort = Literal["impact", "mentions"]


class ThemeCount(BaseModel):
    theme: str = Field(description="The label its comments carry most often; the explorer's theme filter")
    key: str = Field(description="The label's canonical lower-case form, shared by its variants")
    count: int = Field(description="Comments that raise the theme")
    impact: int = Field(description="Negative comments that raise it (count × negative share): the ranking")
    mean_sentiment: float | None
    negative_share: float
    by_touchpoint: dict[str, int]


@dataclass(frozen=True)
class ThemeReport:
    """Ranked themes and the number of comments they were found among (a theme's share is count / comments)."""

    themes: list[ThemeCount]
    comments: int


def rank_themes(rows: Iterable[tuple[Sequence[str] | None, float | None, str | None]], limit: int | None = None,
                sort: ThemeSort = "impact") -> ThemeReport:
    """Rank the themes of (theme labels, sentiment, touchpoint key) rows, one row a comment."""
    labels: dict[str, Counter[str]] = defaultdict(Counter)
    sentiments: dict[str, list[float]] = defaultdict(list)
    places: dict[str, Counter[str]] = defaultdict(Counter)
    counts: Counter[str] = Counter()
    comments = 0
    for themes, sentiment, touchpoint_key in rows:
        comments += sentiment is not None
        keyed: dict[str, str] = {}
        for label in themes or ():
            if isinstance(label, str):
                keyed.setdefault(theme_key(label), label)
        keyed.pop("", None)  # labels of an older analyser that are no topic ("sense", "left")
        for key, label in keyed.items():
            counts[key] += 1
            labels[key][label] += 1
            places[key][touchpoint_key or "-"] += 1
            if sentiment is not None:
                sentiments[key].append(sentiment)
    found = []
    for key, count in counts.items():
        values = sentiments[key]
        negative = sum(s <= NEGATIVE_THRESHOLD for s in values)
        found.append(ThemeCount(theme=labels[key].most_common(1)[0][0], key=key, count=count, impact=negative,
                                mean_sentiment=round(sum(values) / len(values), 4) if values else None,
                                negative_share=round(negative / count, 4),
                                by_touchpoint=dict(places[key].most_common())))
    if sort == "impact":
        found.sort(key=lambda t: (-t.impact, -t.count, t.key))
    else:
        found.sort(key=lambda t: (-t.count, -t.impact, t.key))
    return ThemeReport(found[:limit] if limit is not None else found, comments)


def theme_report(session: Session, *, survey: str | None = None, touchpoint: str | None = None,
                 since: datetime | None = None, until: datetime | None = None, limit: int | None = None,
                 sort: ThemeSort = "impact") -> ThemeReport:
    """The themes of analysed responses matching the filters, ranked (see rank_themes)."""
    query = (select(Response.analysis, Response.sentiment, Touchpoint.key)
             .outerjoin(Touchpoint, Touchpoint.id == Response.touchpoint_id)
             .where(Response.analysis.is_not(None), Response.is_test.is_(False)))
    if survey:
        query = query.join(Survey, Survey.id == Response.survey_id).where(Survey.key == survey)
    if touchpoint:
        query = query.where(Touchpoint.key == touchpoint)
    if since:
        query = query.where(Response.completed_at >= since)
    if until:
        query = query.where(Response.completed_at < until)
    rows = ((analysis.get("themes") if isinstance(analysis, dict) else None, sentiment, touchpoint_key)
            for analysis, sentiment, touchpoint_key in session.execute(query))
    return rank_themes(rows, limit, sort)


def theme_counts(session: Session, *, survey: str | None = None, touchpoint: str | None = None,
                 since: datetime | None = None, until: datetime | None = None, limit: int = 50,
                 sort: ThemeSort = "impact") -> list[ThemeCount]:
    """The top themes of analysed responses matching the filters, by impact (or mentions), with their sentiment."""
    return theme_report(session, survey=survey, touchpoint=touchpoint, since=since, until=until, limit=limit,
                        sort=sort).themes
