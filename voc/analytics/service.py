"""What the dashboard's overview, journey, experience and themes pages show, summed from the rollups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlmodel import Session

from voc.analytics import charts
from voc.analytics.comparisons import Difference, ces_change, csat_change, nps_change
from voc.analytics.models import ALL, DIMENSIONS, Rollup, RollupTotal
from voc.analytics.rollups import COUNT_COLUMNS
from voc.periods import PERIODS, period_bounds
from voc.sentiment.reports import theme_counts
from voc.surveys.metrics import SMALL_SAMPLE, Metric, ces_metric, csat_metric, nps_metric
from voc.surveys.models import JourneyStage, Survey, Touchpoint

TREND_METRICS = ("nps", "csat", "ces")


@dataclass
class Filters:
    survey: str | None
    touchpoint: str | None
    period: str
    days: int
    start: datetime
    end: datetime
    survey_id: int | None = None
    touchpoint_id: int | None = None

    @property
    def first_day(self) -> date:
        return self.end.date() - timedelta(days=self.days - 1)

    @property
    def last_day(self) -> date:
        return self.end.date()

    def query(self) -> dict[str, str]:
        """The filters as query parameters (for links that keep the view)."""
        return {k: v for k, v in (("survey", self.survey), ("touchpoint", self.touchpoint),
                                  ("period", self.period)) if v}


def resolve_filters(session: Session, survey: str | None, touchpoint: str | None, period: str | None,
                    now: datetime | None = None) -> Filters:
    """The URL's filters, checked: an unknown survey or touchpoint key is ignored."""
    key, start, end = period_bounds(period, now)
    survey_id = session.scalar(select(Survey.id).where(Survey.key == survey)) if survey else None
    touchpoint_id = session.scalar(select(Touchpoint.id).where(Touchpoint.key == touchpoint)) if touchpoint else None
    return Filters(survey if survey_id else None, touchpoint if touchpoint_id else None, key, PERIODS[key],
                   start, end, survey_id, touchpoint_id)


def filter_options(session: Session) -> dict[str, Any]:
    """Surveys and touchpoints to choose from, and the periods."""
    return {"surveys": list(session.execute(select(Survey.key, Survey.title).order_by(Survey.title))),
            "touchpoints": [(t.key, t.name) for t in journey_touchpoints(session)], "periods": list(PERIODS)}


def journey_touchpoints(session: Session) -> list[Touchpoint]:
    """Touchpoints in journey-stage order (unknown stages last), then by name."""
    stages = {stage.value: stage.order for stage in JourneyStage}
    return sorted(session.scalars(select(Touchpoint)), key=lambda t: (stages.get(t.stage, len(stages)), t.name))


class _Row:
    """Attribute access over a dict of sums (what a result row gives)."""

    def __init__(self, values: dict[str, float]) -> None:
        self.__dict__.update(values)


def _table(f: Filters, by_touchpoint: bool = False) -> Any:
    """The rollup table holding exactly the filtered figures in one row per day (per touchpoint).

    A survey with a touchpoint (or with each touchpoint) reads the daily cells; any other choice reads the
    totals, where ALL stands in for every survey or every touchpoint."""
    return Rollup if f.survey_id and (f.touchpoint_id or by_touchpoint) else RollupTotal


def _by_touchpoint_sums(session: Session, f: Filters) -> dict[int, Any]:
    """Per touchpoint, the column sums of the period."""
    table = _table(f, by_touchpoint=True)
    touchpoint = table.touchpoint_id == f.touchpoint_id if f.touchpoint_id else table.touchpoint_id != ALL
    query = (select(table.touchpoint_id, *[func.sum(getattr(table, c)).label(c) for c in COUNT_COLUMNS])
             .where(table.survey_id == (f.survey_id or ALL), touchpoint,
                    table.day >= f.first_day, table.day <= f.last_day)
             .group_by(table.touchpoint_id))
    return {row[0]: row for row in session.execute(query)}


@cache
def _days_statement(table: Any) -> Any:
    """One filtered row per day, built once per table (the page runs it with its own parameters)."""
    return select(table.day, *[getattr(table, c) for c in COUNT_COLUMNS]).where(
        table.survey_id == bindparam("survey"), table.touchpoint_id == bindparam("touchpoint"),
        table.day >= bindparam("first"), table.day <= bindparam("last"))


def _by_day(session: Session, f: Filters, first: date, last: date) -> dict[date, tuple[float, ...]]:
    """Per day, the filtered columns as a plain tuple (in COUNT_COLUMNS order: cheap to add up)."""
    table = _table(f)
    parameters = {"survey": f.survey_id or ALL, "touchpoint": f.touchpoint_id or ALL, "first": first, "last": last}
    # Plain rows through the connection: the ORM's result handling would cost more than the sums.
    return {row[0] if isinstance(row[0], date) else date.fromisoformat(str(row[0])): tuple(row)[1:]
            for row in session.connection().execute(_days_statement(table), parameters)}


def _total(rows: Any) -> _Row:
    """The sum of several days' column tuples, column by column."""
    columns = list(zip(*rows, strict=True))
    return _Row(dict(zip(COUNT_COLUMNS, (sum(c) for c in columns), strict=True)) if columns
                else dict.fromkeys(COUNT_COLUMNS, 0))


def _dist(row: Any, prefix: str, low: int, high: int) -> dict[int, int]:
    return {s: int(getattr(row, f"{prefix}_{s}")) for s in range(low, high + 1) if getattr(row, f"{prefix}_{s}")}


_METRICS = {"nps": (nps_metric, 0, 10), "csat": (csat_metric, 1, 5), "ces": (ces_metric, 1, 7)}


def metric_of(row: Any, name: str) -> Metric:
    """NPS, CSAT or CES of summed rollups."""
    compute, low, high = _METRICS[name]
    return compute(_dist(row, name, low, high))


def metrics_of(row: Any) -> dict[str, Metric]:
    """NPS, CSAT and CES of summed rollups."""
    return {name: metric_of(row, name) for name in TREND_METRICS}


_CHANGES = {"nps": nps_change, "csat": csat_change, "ces": ces_change}


def compare(name: str, now: Any, before: Any) -> Difference:
    """The change of NPS, CSAT or CES of summed rollups against the previous period's, by its own method."""
    _, low, high = _METRICS[name]
    return _CHANGES[name](_dist(now, name, low, high), _dist(before, name, low, high))


def _buckets(f: Filters) -> list[tuple[date, date]]:
    """Weekly buckets ending on the period's last day (daily for a 7-day period)."""
    size = 1 if f.days <= 7 else 7
    out, last = [], f.last_day
    while last >= f.first_day:
        out.append((max(last - timedelta(days=size - 1), f.first_day), last))
        last -= timedelta(days=size)
    return list(reversed(out))


def _metric_fmt(name: str) -> Any:
    return "{:.2f}".format if name == "ces" else "{:+.0f}".format if name == "nps" else "{:.0f}%".format


def trend_chart(f: Filters, by_day: dict[date, tuple[float, ...]], name: str) -> charts.LineChart:
    """The chosen metric per week (or day), with its 95% band."""
    labels, values = [], []
    for first, last in _buckets(f):
        days = (first + timedelta(days=i) for i in range((last - first).days + 1))
        metric = metric_of(_total(by_day[d] for d in days if d in by_day), name)
        labels.append(first.strftime("%-d %b"))
        values.append((metric.value, metric.ci_low, metric.ci_high, metric.n))
    y_min, y_max = {"nps": (-100, 100), "csat": (0, 100), "ces": (1, 7)}[name]
    label = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}[name]
    return charts.line_chart(labels, [(label, "line-score", values)], y_min=y_min, y_max=y_max,
                             fmt=_metric_fmt(name))


def overview(session: Session, f: Filters, trend: str = "nps") -> dict[str, Any]:
    """Headline figures with intervals and change, trend, response rate and sentiment split."""
    # One query: both periods by day; the headline, the comparison and the trend are summed from it.
    first_day = f.first_day
    by_day = _by_day(session, f, first_day - timedelta(days=f.days), f.last_day)
    now = _total(r for d, r in by_day.items() if d >= first_day)
    before = _total(r for d, r in by_day.items() if d < first_day)
    current, previous = metrics_of(now), metrics_of(before)
    cards = [{"name": name, "label": {"nps": "NPS", "csat": "CSAT", "ces": "CES"}[name],
              "metric": current[name], "previous": previous[name], "fmt": _metric_fmt(name),
              "change": compare(name, now, before)}
             for name in TREND_METRICS]
    trend = trend if trend in TREND_METRICS else "nps"
    invitations, responses = int(now.invitations), int(now.responses)
    sentiment = charts.share_bar([("Negative", "neg", int(now.sentiment_negative)),
                                  ("Neutral", "neu", int(now.sentiment_neutral)),
                                  ("Positive", "pos", int(now.sentiment_positive))])
    return {"cards": cards, "trend": trend, "chart": trend_chart(f, by_day, trend),
            "invitations": invitations, "responses": responses,
            "response_rate": responses / invitations if invitations else None,
            "sentiment": sentiment, "sentiment_n": int(now.sentiment_count),
            "mean_sentiment": now.sentiment_sum / now.sentiment_count if now.sentiment_count else None,
            "mismatches": int(now.mismatch_count), "small_sample": SMALL_SAMPLE}


def _by_touchpoint(session: Session, f: Filters) -> list[tuple[Touchpoint, Any]]:
    rows = _by_touchpoint_sums(session, f)
    return [(t, rows[t.id]) for t in journey_touchpoints(session) if t.id in rows and rows[t.id].responses]


def normalised(name: str, metric: Metric) -> tuple[float | None, float | None, float | None]:
    """A metric on -1..1: NPS/100, CSAT share 2p−1, CES (mean−4)/3."""
    def scale(value: float | None) -> float | None:
        if value is None:
            return None
        return value / 100 if name == "nps" else 2 * value / 100 - 1 if name == "csat" else (value - 4) / 3
    return scale(metric.value), scale(metric.ci_low), scale(metric.ci_high)


def journey(session: Session, f: Filters) -> dict[str, Any]:
    """Score and mean sentiment per touchpoint along the journey, with its peaks and pain points."""
    stops = []
    for touchpoint, row in _by_touchpoint(session, f):
        metrics = metrics_of(row)
        main = max(TREND_METRICS, key=lambda name: metrics[name].n)
        score, low, high = normalised(main, metrics[main])
        n_sent = int(row.sentiment_count)
        stops.append({"touchpoint": touchpoint, "metric": main, "raw": metrics[main], "score": score,
                      "low": low, "high": high, "n": metrics[main].n, "responses": int(row.responses),
                      "sentiment": row.sentiment_sum / n_sent if n_sent else None, "sentiment_n": n_sent})
    labels = [s["touchpoint"].name for s in stops]
    chart = charts.line_chart(labels, [
        ("Score", "line-score", [(s["score"], s["low"], s["high"], s["n"]) for s in stops]),
        ("Mean sentiment", "line-sentiment", [(s["sentiment"], None, None, s["sentiment_n"]) for s in stops]),
    ], y_min=-1, y_max=1, fmt="{:+.2f}".format)

    def extreme(key: str, n_key: str, pick: Any) -> dict[str, Any] | None:
        eligible = [s for s in stops if s[key] is not None and s[n_key] >= SMALL_SAMPLE]
        return pick(eligible, key=lambda s: s[key]) if eligible else None

    highlights = {"score_peak": extreme("score", "n", max), "score_pain": extreme("score", "n", min),
                  "sentiment_peak": extreme("sentiment", "sentiment_n", max),
                  "sentiment_pain": extreme("sentiment", "sentiment_n", min)}
    return {"stops": stops, "chart": chart, "highlights": highlights, "small_sample": SMALL_SAMPLE}


def experience(session: Session, f: Filters) -> dict[str, Any]:
    """Touchpoints × the five dimensions: mean valence, mean salience and n per cell."""
    rows = []
    for touchpoint, row in _by_touchpoint(session, f):
        cells = []
        for name in DIMENSIONS:
            n = int(getattr(row, f"{name}_count"))
            salience_sum = getattr(row, f"{name}_salience_sum")
            valence = getattr(row, f"{name}_valence_sum") / salience_sum if n and salience_sum else None
            salience = salience_sum / n if n else None
            strength = round(0.3 + 0.7 * min(salience or 0.0, 1.0), 2)
            fill, ink = charts.diverging_colour(valence, strength)
            cells.append({"dimension": name, "n": n, "valence": valence, "salience": salience, "fill": fill,
                          "ink": ink, "strength": strength, "small": n < SMALL_SAMPLE})
        rows.append({"touchpoint": touchpoint, "cells": cells, "responses": int(row.responses)})
    legend = [(v, *charts.diverging_colour(v)) for v in (-1.0, -0.5, 0.0, 0.5, 1.0)]
    return {"rows": rows, "dimensions": DIMENSIONS, "legend": legend, "small_sample": SMALL_SAMPLE}


def themes(session: Session, f: Filters, limit: int = 25) -> dict[str, Any]:
    """Top themes of this period with volume, mean sentiment and the change against the previous period."""
    length = f.end - f.start
    current = theme_counts(session, survey=f.survey, touchpoint=f.touchpoint, since=f.start, until=f.end,
                           limit=limit)
    previous = {t.key: t for t in theme_counts(session, survey=f.survey, touchpoint=f.touchpoint,
                                                since=f.start - length, until=f.start, limit=500)}
    rows = []
    for theme in current:
        before = previous.get(theme.key)
        count_before = before.count if before else 0
        fill, ink = charts.diverging_colour(theme.mean_sentiment)
        rows.append({"theme": theme, "previous": count_before, "delta": theme.count - count_before,
                     "change": (theme.count - count_before) / count_before if count_before else None,
                     "fill": fill, "ink": ink, "small": theme.count < SMALL_SAMPLE})
    top = max((r["theme"].count for r in rows), default=0)
    return {"rows": rows, "top": top, "small_sample": SMALL_SAMPLE}
