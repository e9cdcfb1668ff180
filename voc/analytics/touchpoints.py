"""The touchpoint pages: the journey map and the experience heatmap, with one meaning of "best" and "worst".

The journey never puts two scales on one axis: each touchpoint is drawn on the measure its surveys ask, one
row of small multiples per measure (NPS on −100..100, CSAT on 0..100 %, CES on 1..7), each point with its 95%
interval; the emotion curve (mean compound sentiment of the comments, −1..1, with a 95% t interval) is a line
of its own along the journey. A touchpoint is named best or worst on a measure only among touchpoints with at
least SMALL_SAMPLE answers to it; fewer are drawn, flagged, never named. "Worst touchpoint" on every page is
the lowest mean sentiment of comments (WORST_MEASURE), and each page says so."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from voc.analytics import charts
from voc.analytics.comparisons import (
    FALSE_DISCOVERY_RATE,
    WeightedSums,
    benjamini_hochberg,
    weighted_mean_p_value,
)
from voc.analytics.models import DIMENSIONS
from voc.analytics.service import (
    TREND_METRICS,
    Filters,
    by_touchpoint,
    explorer_params,
    metric_format,
    metrics_of,
    sentiment_of,
)
from voc.surveys.metrics import SMALL_SAMPLE, Metric
from voc.surveys.models import Response, Touchpoint


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    low: float
    high: float
    scale: str  # the axis, in words
    ticks: int
    tick_fmt: Callable[[float], str]


MEASURES = {
    "nps": Measure("nps", "NPS", -100, 100, "−100 to +100", 5, "{:+.0f}".format),
    "csat": Measure("csat", "CSAT", 0, 100, "0 to 100% of answers satisfied (4 or 5 of 5)", 5, "{:.0f}%".format),
    "ces": Measure("ces", "CES", 1, 7, "1 to 7 (higher is easier)", 7, "{:.0f}".format),
    "sentiment": Measure("sentiment", "Mean sentiment", -1, 1, "−1 to +1 (mean compound of the comments)", 5,
                         "{:+.1f}".format),
}
WORST_MEASURE = "sentiment"
WORST_WORDS = "lowest mean sentiment of comments"


@dataclass
class Stop:
    """One touchpoint of the view: its responses, each measure it was asked (n = 0 if not), the explorer's link."""

    touchpoint: Touchpoint
    responses: int
    measures: dict[str, Metric]
    params: dict[str, str]  # the explorer: this touchpoint's responses in the view, most negative first

    def asks(self, measure: str) -> bool:
        return self.measures[measure].n > 0


def _stop(f: Filters, touchpoint: Touchpoint, row: Any) -> Stop:
    return Stop(touchpoint, int(row.responses), {**metrics_of(row), "sentiment": sentiment_of(row)},
                explorer_params(f, touchpoint=touchpoint.key, sort="sentiment"))


def touchpoint_stops(session: Session, f: Filters) -> list[Stop]:
    """The view's touchpoints in journey order, with NPS, CSAT, CES and mean sentiment from the rollups."""
    return [_stop(f, touchpoint, row) for touchpoint, row in by_touchpoint(session, f)]


def extremes(stops: list[Stop], measure: str) -> tuple[Stop | None, Stop | None]:
    """(best, worst) on one measure: the highest and lowest value among touchpoints with at least SMALL_SAMPLE
    answers to it; named only when two or more touchpoints qualify (one cannot be both best and worst)."""
    eligible = [s for s in stops if s.measures[measure].value is not None and s.measures[measure].n >= SMALL_SAMPLE]
    if len(eligible) < 2:
        return None, None
    def value(stop: Stop) -> float:
        return stop.measures[measure].value or 0.0
    return max(eligible, key=value), min(eligible, key=value)


def _chart(stops: list[Stop], measure: Measure, link: Callable[[dict[str, str]], str], joined: bool
           ) -> charts.LineChart:
    values = [(m.value, m.ci_low, m.ci_high, m.n) if m.n else (None, None, None, 0)
              for m in (s.measures[measure.key] for s in stops)]
    return charts.line_chart([s.touchpoint.name for s in stops], [(measure.label, f"m-{measure.key}", values)],
                             y_min=measure.low, y_max=measure.high, fmt=metric_format(measure.key),
                             tick_fmt=measure.tick_fmt, ticks=measure.ticks, joined=joined,
                             hrefs=[link(s.params) for s in stops], small_sample=SMALL_SAMPLE,
                             width=max(720, 72 + 104 * len(stops)), height=220, bottom_margin=44,
                             max_labels=max(len(stops), 1))


def journey(session: Session, f: Filters, link: Callable[[dict[str, str]], str]) -> dict[str, Any]:
    """Small multiples per measure asked, the emotion curve, and per measure the best and worst touchpoint.

    `link` turns explorer parameters into a URL (the web layer's)."""
    stops = touchpoint_stops(session, f)
    panels = []
    for key in (*TREND_METRICS, "sentiment"):
        asked = [s for s in stops if s.asks(key)]
        if not asked:
            continue
        best, worst = extremes(stops, key)
        panels.append({"measure": MEASURES[key], "chart": _chart(stops, MEASURES[key], link, joined=key == "sentiment"),
                       "asked": len(asked), "best": best, "worst": worst,
                       "small": [s for s in asked if s.measures[key].n < SMALL_SAMPLE]})
    peak, pain = extremes(stops, WORST_MEASURE)
    return {"stops": stops, "panels": panels, "pain": pain, "peak": peak,
            "worst_words": WORST_WORDS, "small_sample": SMALL_SAMPLE, "measures": MEASURES, "fmt": metric_format}


def experience(session: Session, f: Filters) -> dict[str, Any]:
    """Touchpoints × the five dimensions: mean valence, mean salience and n per cell, each cell marked when it
    stands out from its column (mark_standouts); and the worst touchpoint by the journey's measure."""
    rows, stops = [], []
    sums = dimension_sums(session, f)
    for touchpoint, row in by_touchpoint(session, f):
        stop = _stop(f, touchpoint, row)
        stops.append(stop)
        cells = []
        for name in DIMENSIONS:
            n = int(getattr(row, f"{name}_count"))
            salience_sum = getattr(row, f"{name}_salience_sum")
            valence = getattr(row, f"{name}_valence_sum") / salience_sum if n and salience_sum else None
            salience = salience_sum / n if n else None
            strength = round(0.3 + 0.7 * min(salience or 0.0, 1.0), 2)
            fill, ink = charts.diverging_colour(valence, strength)
            cells.append({"dimension": name, "n": n, "valence": valence, "salience": salience, "fill": fill,
                          "ink": ink, "strength": strength, "small": n < SMALL_SAMPLE,
                          "sums": sums.get((touchpoint.id, name), WeightedSums())})
        rows.append({"touchpoint": stop.touchpoint, "cells": cells, "responses": stop.responses, "stop": stop})
    tested = mark_standouts([cell for row in rows for cell in row["cells"]])
    legend = [(v, *charts.diverging_colour(v)) for v in (-1.0, -0.5, 0.0, 0.5, 1.0)]
    return {"rows": rows, "dimensions": DIMENSIONS, "legend": legend, "small_sample": SMALL_SAMPLE,
            "pain": extremes(stops, WORST_MEASURE)[1], "worst_words": WORST_WORDS, "fmt": metric_format,
            "tested": tested, "rate": FALSE_DISCOVERY_RATE}


def dimension_sums(session: Session, f: Filters) -> dict[tuple[int, str], WeightedSums]:
    """Per touchpoint and dimension, the salience-weighted sums of the view's comments (WeightedSums): what
    the cell's test needs beyond the rollups, which hold Σ salience·valence and Σ salience but not the spread."""
    query = (select(Response.touchpoint_id, Response.analysis)
             .where(Response.status == "completed", Response.is_test.is_(False), Response.touchpoint_id.is_not(None),
                    Response.analysis.is_not(None), Response.completed_at >= f.start, Response.completed_at < f.end))
    if f.survey_id:
        query = query.where(Response.survey_id == f.survey_id)
    if f.touchpoint_id:
        query = query.where(Response.touchpoint_id == f.touchpoint_id)
    pairs: dict[tuple[int, str], list[tuple[float, float]]] = {}
    for touchpoint_id, analysis in session.execute(query):
        dimensions = analysis.get("dimensions") if isinstance(analysis, dict) else None
        for name, score in (dimensions or {}).items():
            if score and name in DIMENSIONS:
                pairs.setdefault((touchpoint_id, name), []).append((float(score["salience"]), float(score["valence"])))
    return {key: WeightedSums.of(values) for key, values in pairs.items()}


def mark_standouts(cells: list[dict[str, Any]]) -> int:
    """Mark the heatmap cells whose valence differs from the same dimension at the other touchpoints of the
    view (`standout` "above" or "below", `discovery` its p and q); returns how many cells were tested.

    Each cell's comments (`sums`, WeightedSums) are tested against the rest of its column
    (comparisons.weighted_mean_p_value), both sides with at least SMALL_SAMPLE comments; a cell is marked only
    when it survives the Benjamini–Hochberg correction across every tested cell of the page."""
    columns: dict[str, WeightedSums] = {}
    for cell in cells:
        columns[cell["dimension"]] = columns.get(cell["dimension"], WeightedSums()) + cell["sums"]
    rests = [columns[cell["dimension"]] - cell["sums"] for cell in cells]
    p_values = [weighted_mean_p_value(cell["sums"], rest) for cell, rest in zip(cells, rests, strict=True)]
    for cell, rest, discovery in zip(cells, rests, benjamini_hochberg(p_values), strict=True):
        cell["discovery"] = discovery
        cell["standout"] = None
        if discovery.significant:
            cell["standout"] = "above" if (cell["sums"].mean or 0.0) > (rest.mean or 0.0) else "below"
    return sum(p is not None for p in p_values)
