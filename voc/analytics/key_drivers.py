"""What hurts most: the key drivers of a view's score, for the "Fix first" panel of the overview and the journey.

The drivers are the answer's touchpoint, the themes of its comment (the TOP_THEMES most mentioned in the view)
and each of Schmitt's dimensions felt negatively (valence ≤ −0.05); voc.analytics.drivers estimates their
effects. The score is coded as its headline figure is computed, so effects and impacts read in its own
points: NPS +100 a promoter, 0 a passive, −100 a detractor (the mean of which is the NPS); CSAT 100 for a 4
or 5 (the mean is CSAT in %); CES the answer itself, 1–7.

Unlike the other figures of the overview these are read from responses, not rollups: from the view's
MAX_SAMPLE most recent answers to the measure (every answer when fewer), so the cost stays bounded at any
number of responses; the panel says when the sample is cut. A panel is kept until the view's answers change.
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from threading import Lock
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlmodel import Session

from voc.analytics.drivers import MIN_ANSWERS, DriverEffect, Observation, fit_drivers
from voc.analytics.service import Filters, by_touchpoint, explorer_params, metric_of, resolve_filters
from voc.errors import NotFound
from voc.sentiment.model import DIMENSIONS, NEGATIVE_THRESHOLD
from voc.sentiment.themes import theme_key
from voc.surveys.models import Response, Survey, Touchpoint

MAX_SAMPLE = 3000
TOP_THEMES = 10
KEEP_SECONDS = 600.0
_PANELS_KEPT = 64


@dataclass(frozen=True)
class Measure:
    """A score the drivers explain: how an answer is coded, and how an effect on it is written."""

    key: str
    label: str
    unit: str  # what one point of an effect is, in words
    code: Callable[[int], float]
    fmt: Callable[[float], str]


MEASURES = {
    "nps": Measure("nps", "NPS", "NPS points (a promoter counts +100, a passive 0, a detractor −100)",
                   lambda v: 100.0 if v >= 9 else -100.0 if v <= 6 else 0.0, "{:+.1f}".format),
    "csat": Measure("csat", "CSAT", "CSAT points (percentage points of answers satisfied, 4 or 5 of 5)",
                    lambda v: 100.0 if v >= 4 else 0.0, "{:+.1f}".format),
    "ces": Measure("ces", "CES", "points of the CES answer (1–7, higher is easier)", float, "{:+.2f}".format),
}
KINDS = {"touchpoint": "Touchpoint", "theme": "Theme", "dimension": "Felt negatively"}


@dataclass
class DriverRow:
    """One driver as the panel shows it, with the explorer's parameters for the comments behind it."""

    kind: str  # touchpoint, theme or dimension
    key: str
    label: str
    estimate: DriverEffect
    params: dict[str, str]  # the explorer: the answers with this driver in the view, most negative first

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]


@dataclass
class DriverPanel:
    """The key drivers of one measure in a view."""

    measure: Measure
    n: int  # answers in the sample
    mean: float | None
    cut: bool  # the view has more answers than MAX_SAMPLE: the sample is the most recent ones
    rows: list[DriverRow] = field(default_factory=list)  # every driver, the most negative impact first
    choices: list[str] = field(default_factory=list)  # measures answered in the view, for the switch
    resamples: int = 0

    @property
    def too_few(self) -> bool:
        return self.n < MIN_ANSWERS

    @property
    def fix_first(self) -> list[DriverRow]:
        """Drivers whose whole interval lowers the score, the largest loss first."""
        return [r for r in self.rows if r.estimate.hurts]



def answered_measures(sums: list[tuple[Touchpoint, Any]]) -> list[tuple[str, int]]:
    """(measure, answers) of each measure answered, most answered first, from the view's rollups per touchpoint."""
    totals: Counter[str] = Counter()
    for _touchpoint, row in sums:
        for key in MEASURES:
            totals[key] += metric_of(row, key).n
    return [(key, n) for key, n in totals.most_common() if n]


def choose_measure(session: Session, f: Filters, requested: str | None,
                   answered: list[tuple[str, int]]) -> str:
    """The measure asked for; else the chosen survey's first score question; else the view's most answered."""
    if requested in MEASURES:
        return requested
    if f.survey_id:
        questions = session.scalar(select(Survey.questions).where(Survey.id == f.survey_id)) or []
        asked = [q.get("type") for q in questions if q.get("type") in MEASURES]
        if asked:
            return asked[0]
    return answered[0][0] if answered else "nps"


def _sample(session: Session, f: Filters, measure: str) -> list[Any]:
    """The view's most recent answers to the measure: touchpoint, score, themes and each dimension's valence."""
    column = getattr(Response, measure)
    query = (select(Response.touchpoint_id, column, Response.analysis["themes"],
                    *[Response.analysis[("dimensions", name, "valence")].as_float() for name in DIMENSIONS])
             .where(Response.status == "completed", Response.is_test.is_(False), Response.completed_at >= f.start,
                    Response.completed_at < f.end, column.is_not(None)))
    if f.survey_id:
        query = query.where(Response.survey_id == f.survey_id)
    if f.touchpoint_id:
        query = query.where(Response.touchpoint_id == f.touchpoint_id)
    # With a survey or a touchpoint, its (…, completed_at) index gives the newest first; with neither, the
    # newest ids are the newest answers (answers are numbered as they come), without sorting the period.
    order = ((Response.completed_at.desc(), Response.id.desc()) if f.survey_id or f.touchpoint_id
             else (Response.id.desc(),))
    # Plain rows through the connection: the ORM's result handling would cost more than the rows.
    return list(session.connection().execute(query.order_by(*order).limit(MAX_SAMPLE + 1)))


@dataclass
class _Kept:
    stamp: Hashable
    at: float
    panel: DriverPanel


_kept: OrderedDict[Hashable, _Kept] = OrderedDict()
_kept_lock = Lock()


def _stamp(session: Session, sums: list[tuple[Touchpoint, Any]]) -> Hashable:
    """What changes when the view's answers do: the newest response's id (a new answer anywhere) and the view's
    rollup sums per touchpoint (an answer added, analysed again or erased in the view)."""
    newest = session.scalar(select(func.max(Response.id)))
    return newest, tuple((t.id, tuple(row)) for t, row in sums)


def key_drivers(session: Session, f: Filters, measure: str | None = None) -> DriverPanel:
    """Each touchpoint's, theme's and negative dimension's effect on the view's score, with reach and impact.

    A panel is kept until its view's answers change (see _stamp), and at most KEEP_SECONDS, so viewing a page
    again costs two small queries; only a changed view is read and fitted again."""
    sums = by_touchpoint(session, f)
    answered = answered_measures(sums)
    chosen = MEASURES[choose_measure(session, f, measure, answered)]
    view = (str(session.get_bind().url), f.survey, f.touchpoint, f.period, f.first_day, f.last_day, chosen.key)
    stamp, now = _stamp(session, sums), time.monotonic()
    with _kept_lock:
        kept = _kept.get(view)
        if kept and kept.stamp == stamp and now - kept.at < KEEP_SECONDS:
            _kept.move_to_end(view)
            return kept.panel
    panel = _panel(session, f, chosen, [name for name, _ in answered])
    with _kept_lock:
        _kept[view] = _Kept(stamp, now, panel)
        _kept.move_to_end(view)
        while len(_kept) > _PANELS_KEPT:
            _kept.popitem(last=False)
    return panel


def _themes(rows: list[Any]) -> tuple[list[frozenset[str]], dict[str, Counter[str]]]:
    """Each answer's theme keys, and per key how often each label was written (answers mentioning it)."""
    keys, labels = [], {}
    for row in rows:
        found = {}
        for label in row[2] if isinstance(row[2], list) else ():
            if isinstance(label, str) and (key := theme_key(label)):
                found[key] = label
        for key, label in found.items():
            labels.setdefault(key, Counter())[label] += 1
        keys.append(frozenset(found))
    return keys, labels


def _panel(session: Session, f: Filters, chosen: Measure, choices: list[str]) -> DriverPanel:
    """Read the view's sample, fit its drivers and shape them for the panel."""
    rows = _sample(session, f, chosen.key)
    cut = len(rows) > MAX_SAMPLE
    rows = rows[:MAX_SAMPLE]
    touchpoints = {t.id: t for t in session.scalars(select(Touchpoint))}
    theme_keys, labels = _themes(rows)
    top = set(sorted(labels, key=lambda k: -labels[k].total())[:TOP_THEMES])
    observations = []
    for row, themes in zip(rows, theme_keys, strict=True):
        touchpoint = touchpoints.get(row[0])
        flags = {("theme", key) for key in themes & top}
        flags |= {("dimension", name) for name, valence in zip(DIMENSIONS, row[3:], strict=True)
                  if valence is not None and valence <= NEGATIVE_THRESHOLD}
        level = touchpoint.key if touchpoint and not f.touchpoint_id else None
        observations.append(Observation(chosen.code(row[1]), level, frozenset(flags)))
    fit = fit_drivers(observations)
    panel = DriverPanel(chosen, fit.n, fit.mean, cut, choices=choices, resamples=fit.resamples)
    names = {t.key: t.name for t in touchpoints.values()}
    for estimate in fit.drivers:
        if estimate.categorical:
            key = str(estimate.key)
            row = DriverRow("touchpoint", key, names.get(key, key), estimate,
                            explorer_params(f, touchpoint=key, sort="sentiment"))
        else:
            kind, key = estimate.key  # type: ignore[misc]
            if kind == "theme":
                label = labels[key].most_common(1)[0][0]
                # The label, not the key: the explorer keys what it is given, and the label reads as written.
                row = DriverRow("theme", key, label, estimate, explorer_params(f, theme=label, sort="sentiment"))
            else:
                row = DriverRow("dimension", key, key.capitalize(), estimate,
                                explorer_params(f, dimension=key, tone="negative", sort="sentiment"))
        panel.rows.append(row)
    panel.rows.sort(key=lambda r: (r.estimate.impact is None, r.estimate.impact or 0.0, r.kind, r.label))
    return panel


class DriverPublic(BaseModel):
    """One driver over JSON: its effect on the measure with a 95% interval (null: too few answers)."""

    kind: Literal["touchpoint", "theme", "dimension"]
    key: str = Field(description="touchpoint key, theme key, or dimension felt negatively")
    label: str
    n: int = Field(description="answers with the driver")
    reach: float = Field(description="their share of the answers, 0..1")
    effect: float | None = Field(description="the measure's difference with the driver, in the measure's points")
    ci_low: float | None
    ci_high: float | None
    impact: float | None = Field(description="reach × effect")
    lowers: bool = Field(description="the whole 95% interval is below zero")


class DriversPublic(BaseModel):
    """The key drivers of one measure over a period, the most negative impact first."""

    measure: Literal["nps", "csat", "ces"]
    unit: str
    n: int = Field(description="answers in the sample")
    mean: float | None = Field(description="the measure over the sample (NPS, CSAT in %, or mean CES)")
    sample_cut: bool = Field(description=f"true: the period has more answers; the sample is the {MAX_SAMPLE} "
                                         "most recent")
    resamples: int
    drivers: list[DriverPublic]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def drivers_public(session: Session, *, survey: str | None, touchpoint: str | None, period: str | None,
                   measure: str | None) -> DriversPublic:
    """The API's view of key_drivers; an unknown survey or touchpoint is refused rather than ignored."""
    f = resolve_filters(session, survey, touchpoint, period)
    if survey and not f.survey_id:
        raise NotFound(f"no survey with key {survey!r}", code="survey_not_found")
    if touchpoint and not f.touchpoint_id:
        raise NotFound(f"no touchpoint with key {touchpoint!r}", code="touchpoint_not_found")
    panel = key_drivers(session, f, measure)
    return DriversPublic(
        measure=panel.measure.key, unit=panel.measure.unit, n=panel.n, mean=_rounded(panel.mean), sample_cut=panel.cut,
        resamples=panel.resamples,
        drivers=[DriverPublic(kind=r.kind, key=r.key, label=r.label, n=r.estimate.n, reach=round(r.estimate.reach, 4),
                              effect=_rounded(r.estimate.effect), ci_low=_rounded(r.estimate.low),
                              ci_high=_rounded(r.estimate.high), impact=_rounded(r.estimate.impact),
                              lowers=r.estimate.hurts)
                 for r in panel.rows])
