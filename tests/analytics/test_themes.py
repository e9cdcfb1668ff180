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
