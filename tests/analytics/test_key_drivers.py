"""The "Fix first" service: a view's answers coded as its measure counts them, drivers with explorer links, the
sample bounded, and a panel kept until the view's answers change."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from tests.analytics.helpers import answer
from tests.analytics.planted import load_planted
from voc.analytics import key_drivers as kd
from voc.analytics.service import resolve_filters


def panel(engine, measure=None, **filters):
    with Session(engine) as session:
        f = resolve_filters(session, filters.get("survey"), filters.get("touchpoint"), filters.get("period"))
        return kd.key_drivers(session, f, measure)


def test_drivers_of_nps_in_nps_points_with_links_to_their_answers(engine, run_jobs, monkeypatch):
    load_planted(engine, run_jobs)
    found = panel(engine)
    # NPS is the only measure answered; promoters count +100, passives 0, detractors −100.
    assert found.measure.key == "nps" and found.choices == ["nps"]
    assert found.n == 80 and not found.cut and not found.too_few
    assert found.mean == pytest.approx((40 * -100 + 32 * 100) / 80)
    rows = {r.label: r for r in found.rows}
    assert set(rows) == {"Support ticket", "Checkout", "wait time", "Feel"}
    # Support's answers are all −100, Checkout's average +80; the themes and feelings add nothing beyond the
    # touchpoint (within each touchpoint, answers with them score as the others do).
    support = rows["Support ticket"].estimate
    assert support.effect == pytest.approx(-180) and support.reach == 0.5 and support.impact == pytest.approx(-90)
    assert support.low <= -180 <= support.high and support.hurts
    assert rows["wait time"].estimate.effect == pytest.approx(0, abs=1e-6)
    assert rows["Feel"].estimate.n == 35 and rows["wait time"].estimate.n == 40
    assert [r.label for r in found.fix_first][:1] == ["Support ticket"]
    assert rows["Support ticket"].params == {"period": "90d", "touchpoint": "support_ticket", "sort": "sentiment"}
    assert rows["wait time"].params == {"period": "90d", "theme": "wait time", "sort": "sentiment"}
    assert rows["Feel"].params == {"period": "90d", "dimension": "feel", "tone": "negative", "sort": "sentiment"}

    # Within one touchpoint the touchpoint is no driver; its filter is kept in every link.
    one = panel(engine, touchpoint="support_ticket")
    assert one.n == 40 and {r.kind for r in one.rows} == {"theme", "dimension"}
    assert all(r.params["touchpoint"] == "support_ticket" for r in one.rows)

    # A bounded sample: the most recent answers, and the panel says it was cut.
    monkeypatch.setattr(kd, "MAX_SAMPLE", 50)
    cut = panel(engine, period="30d")
    assert cut.n == 50 and cut.cut


def test_a_panel_is_kept_until_the_views_answers_change(engine, run_jobs):
    load_planted(engine, run_jobs)
    first = panel(engine)
    assert panel(engine) is first
    answer(engine, [(0, "Still waiting for an answer.")], touchpoint="support_ticket", days_ago=0.5)
    run_jobs()
    again = panel(engine)
    assert again is not first and again.n == 81


def test_a_measure_with_too_few_answers_gets_no_figures(engine, run_jobs):
    answer(engine, [(3, "Slow."), (10, "Fine.")], touchpoint="support_ticket")
    run_jobs()
    found = panel(engine)
    assert found.measure.key == "nps" and found.n == 2 and found.too_few
    assert all(not r.estimate.estimated for r in found.rows) and found.fix_first == []
    assert panel(engine, "csat").n == 0
