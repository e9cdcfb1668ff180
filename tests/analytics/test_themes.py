"""The themes page's figures: ranked by impact, trends only against a period with comments, and a trend
called significant only after the Benjamini–Hochberg correction, checked against figures worked out here."""

from __future__ import annotations

import pytest
from scipy import stats

from tests.analytics.helpers import answer
from voc.analytics.service import resolve_filters
from voc.analytics.themes import themes

REFUND, STAFF, APP = "The refund never came.", "Lovely staff.", "I used the app."


def _load(engine, now: dict[str, int], before: dict[str, int] | None) -> None:
    answer(engine, [(2, text) for text, count in now.items() for _ in range(count)], days_ago=2)
    if before:
        answer(engine, [(8, text) for text, count in before.items() for _ in range(count)], days_ago=40)


def _bh(p_values: list[float]) -> list[float]:
    """Benjamini–Hochberg q-values written out here: q(i) = min over j ≥ i of p(j)·m/j, p sorted ascending."""
    m = len(p_values)
    order = sorted(range(m), key=p_values.__getitem__)
    q = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        index = order[rank - 1]
        running = min(running, p_values[index] * m / rank)
        q[index] = running
    return q


def test_trends_are_tested_per_theme_share_and_corrected_for_many_themes(engine, session, run_jobs):
    # 30 comments a period. Refund: 18/30 now against 9/30 before; staff 9/30 against 15/30; app 3/30 against 6/30.
    _load(engine, {REFUND: 18, STAFF: 9, APP: 3}, {REFUND: 9, STAFF: 15, APP: 6})
    run_jobs()
    view = themes(session, resolve_filters(session, None, None, "30d"))
    rows = {r["theme"].key: r for r in view["rows"]}
    assert list(rows) == ["refund", "staff", "app"]  # by impact: 18 negative refunds first
    assert view["has_earlier"] and (view["comments"], view["comments_before"]) == (30, 30)
    figures = {"refund": (18, 9), "staff": (9, 15), "app": (3, 6)}
    p = {key: stats.chi2_contingency([[a, 30 - a], [b, 30 - b]], correction=False).pvalue
         for key, (a, b) in figures.items()}
    # p: refund 0.0195, staff 0.1138, app 0.2781; m = 3: q = 0.0195·3/1 = 0.0586, 0.1138·3/2 = 0.1707, 0.2781
    q = dict(zip(p, _bh(list(p.values())), strict=True))
    assert q["refund"] == pytest.approx(0.0586, abs=1e-4) and q["staff"] == pytest.approx(0.1707, abs=1e-4)
    for key, row in rows.items():
        assert row["discovery"].p == pytest.approx(p[key], rel=1e-9)
        assert row["discovery"].q == pytest.approx(q[key], rel=1e-9)
        assert (row["previous"], row["delta"]) == (figures[key][1], figures[key][0] - figures[key][1])
    # p = 0.0195 alone would pass at 5%; among three themes it is no discovery
    assert not any(row["discovery"].significant for row in rows.values())


def test_a_clear_shift_survives_the_correction(engine, session, run_jobs):
    _load(engine, {REFUND: 24, STAFF: 6}, {REFUND: 6, STAFF: 24})
    run_jobs()
    rows = {r["theme"].key: r for r in themes(session, resolve_filters(session, None, None, "30d"))["rows"]}
    p = stats.chi2_contingency([[24, 6], [6, 24]], correction=False).pvalue  # 3.4e-6, the same for both
    assert rows["refund"]["discovery"].q == pytest.approx(p, rel=1e-9)  # q = p·2/2
    assert rows["refund"]["discovery"].significant and rows["staff"]["discovery"].significant


def test_no_trend_without_an_earlier_period_with_comments(engine, session, run_jobs):
    _load(engine, {REFUND: 3, STAFF: 2}, None)
    run_jobs()
    view = themes(session, resolve_filters(session, None, None, "30d"))
    assert not view["has_earlier"] and view["comments_before"] == 0
    for row in view["rows"]:
        assert row["previous"] is None and row["delta"] is None and row["discovery"].p is None
        assert row["params"] == {"period": "30d", "theme": row["theme"].theme}


def test_every_figure_of_a_theme_row_worked_out_by_hand(engine, session, run_jobs):
    from voc.analytics import charts
    from voc.analytics.comparisons import FALSE_DISCOVERY_RATE
    from voc.surveys.metrics import SMALL_SAMPLE

    # 42 comments now, 30 in the 30 days before; two more 100 days ago, in neither period.
    _load(engine, {REFUND: 30, STAFF: 9, APP: 3}, {REFUND: 9, STAFF: 21})
    answer(engine, [(2, REFUND), (2, REFUND)], days_ago=100)
    run_jobs()
    filters = resolve_filters(session, None, None, "30d")
    view = themes(session, filters)
    assert (view["comments"], view["comments_before"], view["top"]) == (42, 30, 30)
    assert (view["small_sample"], view["rate"]) == (SMALL_SAMPLE, FALSE_DISCOVERY_RATE)
    assert view["previous_bounds"] == filters.bounds.previous()
    rows = {r["theme"].key: r for r in view["rows"]}
    refund, staff, app = rows["refund"], rows["staff"], rows["app"]
    # refund: 30 now against 9 before: +21, +233%; 30/42 of the comments against 9/30
    assert (refund["previous"], refund["delta"]) == (9, 21) and refund["change"] == pytest.approx(21 / 9)
    assert refund["share"] == pytest.approx(30 / 42) and refund["share_before"] == pytest.approx(0.3)
    assert not refund["small"] and staff["small"]  # 30 mentions are enough; 9 are not
    # staff: 9 against 21: −12, −57%; app: new (3 against none), so a share before of 0 and no percentage
    assert (staff["delta"], staff["change"]) == (-12, pytest.approx(-12 / 21))
    assert staff["share"] == pytest.approx(9 / 42) and staff["share_before"] == pytest.approx(0.7)
    assert (app["previous"], app["delta"], app["change"], app["share_before"]) == (0, 3, None, 0.0)
    assert app["discovery"].p == pytest.approx(
        stats.chi2_contingency([[3, 39], [0, 30]], correction=False).pvalue, rel=1e-9)
    for row in view["rows"]:
        assert (row["fill"], row["ink"]) == charts.diverging_colour(row["theme"].mean_sentiment)
    assert refund["fill"] != "#ffffff"  # a negative theme is coloured


def test_a_survey_or_touchpoint_view_counts_only_its_own_comments_in_both_periods(engine, session, run_jobs):
    _load(engine, {REFUND: 4}, {REFUND: 2})
    answer(engine, [(9, STAFF)] * 5, days_ago=2, touchpoint="support")
    answer(engine, [(9, STAFF)], days_ago=40, touchpoint="support")  # one earlier comment is an earlier period
    run_jobs()
    for survey, touchpoint in ((None, "support"), ("survey_support", None)):
        view = themes(session, resolve_filters(session, survey, touchpoint, "30d"))
        assert (view["comments"], view["comments_before"], view["has_earlier"]) == (5, 1, True)
        assert [(r["theme"].key, r["theme"].count, r["previous"]) for r in view["rows"]] == [("staff", 5, 1)]
    everything = themes(session, resolve_filters(session, None, None, "30d"))
    assert (everything["comments"], everything["comments_before"]) == (9, 3)
