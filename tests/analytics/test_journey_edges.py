"""Edges of the journey and the experience heatmap: which way a standout cell points when the means are on the
same side of 0 (or exactly 0), the small multiples of a long journey and of CES, and the exact ends of the
view a heatmap cell reads its comments from. Expected figures are worked out by hand."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from scipy import stats
from sqlmodel import Session

from tests.analytics.helpers import answer_at
from voc.analytics.comparisons import WeightedSums
from voc.analytics.service import resolve_filters
from voc.analytics.touchpoints import MEASURES, Stop, _chart, dimension_sums, mark_standouts
from voc.db import utcnow
from voc.surveys.metrics import Metric
from voc.surveys.models import Response

NPS_ONLY = [{"id": "nps", "type": "nps", "prompt": "Recommend?", "required": True}]


def _cell(dimension: str, values: tuple[float, float], n: int = 40) -> dict:
    """n comments of weight 1, alternating between two valences: mean their midpoint, spread ±half their gap."""
    pairs = [(1.0, values[i % 2]) for i in range(n)]
    return {"dimension": dimension, "n": n, "sums": WeightedSums.of(pairs)}


def test_a_standout_points_above_or_below_the_rest_of_its_column_whatever_the_sign():
    # "feel": 0.6 against 0.2, both positive. "think": 0.5 against a cell of exactly 0 (±0.1 in equal numbers).
    feel_high, feel_low = _cell("feel", (0.5, 0.7)), _cell("feel", (0.1, 0.3))
    think_high, think_zero = _cell("think", (0.4, 0.6)), _cell("think", (0.1, -0.1))
    cells = [feel_high, feel_low, think_high, think_zero]
    assert think_zero["sums"].mean == 0.0
    assert mark_standouts(cells) == 4
    # Each side: 40 comments at ±0.1 around its mean, variance of the mean 40 · 0.01/40² = 0.00025; the
    # difference 0.4 (and 0.5) over √0.0005 = 0.02236 is z = 17.9 (22.4): p far below 0.05 after BH.
    z = 0.4 / 0.0005 ** 0.5
    assert feel_high["discovery"].p == pytest.approx(2 * stats.norm.sf(z), rel=1e-6)
    assert all(cell["discovery"].significant for cell in cells)
    assert (feel_high["standout"], feel_low["standout"]) == ("above", "below")
    # A mean of exactly 0 is below a rest of +0.5, and +0.5 is above a rest of exactly 0.
    assert (think_high["standout"], think_zero["standout"]) == ("above", "below")


def _stop(name: str, measure: str, metric: Metric) -> Stop:
    touchpoint = SimpleNamespace(key=name, name=name.title())
    return Stop(touchpoint, metric.n, {measure: metric}, {"touchpoint": name})  # type: ignore[arg-type]


def test_a_long_journey_widens_its_chart_and_names_every_touchpoint():
    # Sixteen touchpoints, NPS 0 (interval −20 to +20), 40 answers each.
    stops = [_stop(f"step {i}", "nps", Metric(value=0.0, n=40, ci_low=-20.0, ci_high=20.0, small_sample=False))
             for i in range(16)]
    chart = _chart(stops, MEASURES["nps"], link=lambda params: f"/explore?touchpoint={params['touchpoint']}",
                   joined=False)
    # 104 px a touchpoint and 72 more: 72 + 104 · 16 = 1736 wide, 220 high, 44 px under the plot for the names.
    # The plot runs from x = 48 to 1736 − 12 = 1724 (16 slots of 1676/16 = 104.75 px) and y = 12 to 220 − 44 = 176.
    box = (chart.width, chart.height, chart.left, chart.right, chart.top, chart.bottom)
    assert box == (1736, 220, 48, 1724, 12, 176)
    points = chart.series[0].points
    # Slot centres: 48 + 104.75 · 0.5 = 100.375 → 100.4, …, 48 + 104.75 · 15.5 = 1671.625 → 1671.6.
    # NPS 0 is halfway up −100..100: y = 176 − 164/2 = 94; +20 → 176 − 164 · 0.6 = 77.6, −20 → 110.4.
    assert (points[0].x, points[-1].x) == (100.4, 1671.6)
    assert (points[0].y, points[0].y_high, points[0].y_low) == (94.0, 77.6, 110.4)
    # Every one of the sixteen names is written under its point (no thinning to every second one).
    assert [t.text for t in chart.x_ticks] == [f"Step {i}" for i in range(16)]
    assert points[3].href == "/explore?touchpoint=step 3"
    # A short journey keeps the 720 px of the page's other charts.
    assert _chart(stops[:3], MEASURES["nps"], link=str, joined=False).width == 720


def test_the_ces_panel_is_ticked_at_every_point_of_its_seven_point_scale():
    stops = [_stop(name, "ces", Metric(value=value, n=50, ci_low=value - 0.3, ci_high=value + 0.3, small_sample=False))
             for name, value in (("order", 5.5), ("delivery", 4.0), ("support", 2.5))]
    chart = _chart(stops, MEASURES["ces"], link=str, joined=False)
    # 1..7 over the 164 px plot: 164/6 = 27.33 px a step, from y = 176 (1) up to 12 (7).
    assert [(t.at, t.text) for t in chart.y_ticks] == [(176.0, "1"), (148.7, "2"), (121.3, "3"), (94.0, "4"),
                                                        (66.7, "5"), (39.3, "6"), (12.0, "7")]
    # CES 4.0 sits on the tick of 4; 5.5 halfway between 5 and 6: 176 − 164 · 4.5/6 = 53.0.
    assert [p.y for p in chart.series[0].points] == [53.0, 94.0, 135.0]
    assert chart.series[0].points[0].shown == "5.50 (95% interval 5.20 to 5.80)"


def _answered(engine, when, valence: float, *, status: str | None = None) -> None:
    """One answer at `when` whose comment felt "act" at salience 1 with the given valence."""
    response_id = answer_at(engine, when, [("nps", 9)], questions=NPS_ONLY)
    with Session(engine) as session:
        response = session.get(Response, response_id)
        response.analysis = {"sentiment": {"compound": valence, "label": "neutral"},
                             "dimensions": {"act": {"salience": 1.0, "valence": valence}}, "themes": []}
        if status:
            response.status = status
        session.add(response)
        session.commit()


def test_a_cell_reads_the_comments_of_the_views_whole_days_exactly(engine, session):
    # A 7-day view that ended 20 days ago: its bounds are the UTC instants [start, end) of its first and last
    # midnights. In: an answer at the start itself and one a second before the end (valences 0.2 and 0.4).
    # Out: a second before the start, at the end itself, a day after the end, and an unfinished answer inside.
    view = resolve_filters(session, None, None, "7d", now=utcnow() - timedelta(days=20))
    _answered(engine, view.start, 0.2)
    _answered(engine, view.end - timedelta(seconds=1), 0.4)
    _answered(engine, view.start - timedelta(seconds=1), -1.0)
    _answered(engine, view.end, -1.0)
    _answered(engine, view.end + timedelta(days=1), -1.0)
    _answered(engine, view.start + timedelta(days=3), -1.0, status="started")
    [(key, sums)] = dimension_sums(session, view).items()
    assert key[1] == "act"
    # Two comments of weight 1: n 2, mean (0.2 + 0.4)/2 = 0.3.
    assert (sums.n, sums.w, sums.mean) == (2, 2.0, pytest.approx(0.3))
    # The whole history, for comparison: a view of today's last 365 days holds the five completed answers.
    everything = dimension_sums(session, resolve_filters(session, None, None, "365d"))
    assert [s.n for s in everything.values()] == [5]
