"""What the dashboard's overview, journey and experience pages show, summed from the rollups (themes:
voc.analytics.themes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlmodel import Session

from voc.analytics import charts
from voc.analytics.comparisons import Difference, ces_change, csat_change, nps_change
from voc.analytics.models import ALL, Rollup, RollupTotal
from voc.analytics.rollups import COUNT_COLUMNS
from voc.periods import PERIODS, Period, period_bounds
from voc.surveys.funnel import Funnel, dashboard_funnels
from voc.surveys.metrics import SMALL_SAMPLE, Metric, ces_metric, csat_metric, nps_metric, sentiment_metric
from voc.surveys.models import JourneyStage, Survey, Touchpoint

TREND_METRICS = ("nps", "csat", "ces")


@dataclass
class Filters:
    """A page's survey, touchpoint and period; the period's whole days are `bounds` (voc.periods)."""

    survey: str | None
    touchpoint: str | None
    bounds: Period
    survey_id: int | None = None
    touchpoint_id: int | None = None

    @property
    def period(self) -> str:
        return self.bounds.key

    @property
    def days(self) -> int:
        return self.bounds.days

    @property
    def start(self) -> datetime:
        return self.bounds.start

    @property
    def end(self) -> datetime:
        return self.bounds.end

    @property
    def first_day(self) -> date:
        return self.bounds.first_day

    @property
    def last_day(self) -> date:
        return self.bounds.last_day

    def query(self) -> dict[str, str]:
        """The filters as query parameters (for links that keep the view)."""
        return {k: v for k, v in (("survey", self.survey), ("touchpoint", self.touchpoint),
                                  ("period", self.period)) if v}


def resolve_filters(session: Session, survey: str | None, touchpoint: str | None, period: str | None,
                    now: datetime | None = None) -> Filters:
    """The URL's filters, checked: an unknown survey or touchpoint key is ignored."""
    survey_id = session.scalar(select(Survey.id).where(Survey.key == survey)) if survey else None
    touchpoint_id = session.scalar(select(Touchpoint.id).where(Touchpoint.key == touchpoint)) if touchpoint else None
    return Filters(survey if survey_id else None, touchpoint if touchpoint_id else None, period_bounds(period, now),
                   survey_id, touchpoint_id)


def explorer_params(f: Filters, **more: str) -> dict[str, str]:
    """The response explorer's query parameters for the same responses as this view (plus `more`)."""
    return {**f.query(), **more}


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


def sentiment_of(row: Any) -> Metric:
    """Mean compound sentiment of the comments in summed rollups, with its 95% t interval."""
    return sentiment_metric(int(row.sentiment_count), row.sentiment_sum, row.sentiment_square_sum)


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


def metric_format(name: str) -> Any:
    """How a measure's value is written: NPS +12, CSAT 58%, CES 4.21, sentiment +0.12."""
    formats = {"sentiment": "{:+.2f}".format, "ces": "{:.2f}".format, "nps": "{:+.0f}".format}
    return formats.get(name, "{:.0f}%".format)


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
                             fmt=metric_format(name))


def overview(session: Session, f: Filters, trend: str = "nps") -> dict[str, Any]:
    """Headline figures with intervals and change, trend, response rate and sentiment split."""
    # One query: both periods by day; the headline, the comparison and the trend are summed from it.
    first_day = f.first_day
    by_day = _by_day(session, f, f.bounds.previous().first_day, f.last_day)
    now = _total(r for d, r in by_day.items() if d >= first_day)
    before = _total(r for d, r in by_day.items() if d < first_day)
    current, previous = metrics_of(now), metrics_of(before)
    cards = [{"name": name, "label": {"nps": "NPS", "csat": "CSAT", "ces": "CES"}[name],
              "metric": current[name], "previous": previous[name], "fmt": metric_format(name),
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


def by_touchpoint(session: Session, f: Filters) -> list[tuple[Touchpoint, Any]]:
    """Touchpoints with responses in the view, in journey order, each with its summed rollups."""
    rows = _by_touchpoint_sums(session, f)
    return [(t, rows[t.id]) for t in journey_touchpoints(session) if t.id in rows and rows[t.id].responses]


def funnels(session: Session, f: Filters) -> list[Funnel]:
    """The overview's completion funnels over the view's days.

    The funnel reads the rollups' days as the UTC dates of the bounds it is given; the rollups' days are
    workspace days, so it is given each workspace day as that date's UTC midnight (the same days as every
    other figure). Its drop-off per question, read from timestamps, is thus shifted by the zone's offset
    outside UTC: voc.surveys.funnel should take voc.periods.local_day (not this module's to change)."""
    return dashboard_funnels(session, f.survey_id, f.touchpoint_id, datetime.combine(f.first_day, time(), UTC),
                             datetime.combine(f.last_day + timedelta(days=1), time(), UTC))
