"""Choice questions roll up per day: n is who saw the question (its show_if held, the CRM did not prefill it,
skipping counts), counts are who picked each option; a rebuild gives the same counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from tests import factories as f
from voc.analytics.choices import choice_charts
from voc.analytics.models import ChoiceRollup, RollupEntry
from voc.analytics.rollups import rebuild_rollups, record_response
from voc.analytics.service import resolve_filters
from voc.config import get_settings
from voc.db import utcnow
from voc.periods import local_day
from voc.surveys.metrics import wilson_interval
from voc.surveys.models import Response
from voc.surveys.responses import submit_response

QUESTIONS = [
    {"id": "nps", "type": "nps", "prompt": "Recommend?", "required": True},
    {"id": "plan", "type": "single_choice", "prompt": "Which plan?", "options": ["Basic", "Pro"]},
    {"id": "liked", "type": "multi_choice", "prompt": "What did you like?", "options": ["Speed", "Price", "Staff"]},
    {"id": "reason", "type": "multi_choice", "prompt": "What went wrong?", "options": ["Slow", "Rude"],
     "show_if": {"question_id": "nps", "op": "lte", "value": 6}},
    {"id": "tier", "type": "single_choice", "prompt": "Your tier?", "options": ["Gold", "Silver"],
     "attribute": "tier"},
]


def load(engine, days_ago: float = 1) -> None:
    when = utcnow() - timedelta(days=days_ago)
    answers = [
        ([("nps", 10), ("plan", "Pro"), ("liked", ["Speed", "Staff"])], {}),
        ([("nps", 3), ("plan", "Basic"), ("liked", ["Price"]), ("reason", ["Slow"])], {"tier": "Gold"}),
        ([("nps", 9)], {}),  # skipped every choice question it was shown
    ]
    with Session(engine) as session:
        f.touchpoint(session)
        f.survey(session, "choices", questions=QUESTIONS, recontact_days=0)
        for number, (given, attributes) in enumerate(answers):
            outcome = f.event(session, f"e-{number}", contact=f"c{number}", occurred_at=when.isoformat(),
                              contact_fields={"attributes": attributes})
            submit_response(session, f.token_of(outcome.invitation.url), given, now=when)
        session.commit()


def charts_by_question(engine) -> dict[str, object]:
    with Session(engine) as session:
        found = choice_charts(session, resolve_filters(session, "choices", None, "30d"))
    return {c.question_id: c for c in found}


def counts(chart) -> dict[str, int]:
    return {bar.label: bar.count for bar in chart.bars}


def test_n_is_who_saw_the_question_and_counts_are_who_picked(engine, run_jobs):
    load(engine)
    run_jobs()
    found = charts_by_question(engine)
    assert list(found) == ["plan", "liked", "reason", "tier"]
    assert (found["plan"].n, counts(found["plan"])) == (3, {"Basic": 1, "Pro": 1})  # the skip counts as seen
    assert (found["liked"].n, counts(found["liked"])) == (3, {"Speed": 1, "Price": 1, "Staff": 1})
    assert found["liked"].multi and not found["plan"].multi
    assert (found["reason"].n, counts(found["reason"])) == (1, {"Slow": 1, "Rude": 0})  # shown to the detractor only
    assert (found["tier"].n, counts(found["tier"])) == (2, {"Gold": 0, "Silver": 0})  # the CRM knew one tier
    pro = next(bar for bar in found["plan"].bars if bar.label == "Pro")
    assert (pro.share, (pro.low, pro.high)) == (pytest.approx(1 / 3), wilson_interval(1, 3))
    assert pro.params == {"survey": "choices", "period": "30d", "answer": "plan:Pro"}
    assert found["plan"].small


def test_other_touchpoints_and_days_are_not_counted(engine, run_jobs):
    load(engine, days_ago=40)
    run_jobs()
    assert charts_by_question(engine)["plan"].n == 0  # outside the 30 days: shown, with n = 0
    with Session(engine) as session:
        assert choice_charts(session, resolve_filters(session, None, None, "30d")) == []  # nobody saw one


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Auckland"])
def test_a_rebuild_gives_the_same_choice_counts(engine, run_jobs, monkeypatch, zone):
    monkeypatch.setenv("VOC_TIME_ZONE", zone)
    get_settings.cache_clear()
    load(engine)
    load_more = [("nps", 5), ("plan", "Pro"), ("reason", ["Slow", "Rude"])]
    with Session(engine) as session:
        outcome = f.event(session, "late", contact="late", occurred_at=(utcnow() - timedelta(hours=30)).isoformat())
        submit_response(session, f.token_of(outcome.invitation.url), load_more, now=utcnow() - timedelta(hours=30))
        session.commit()
    run_jobs()

    def stored() -> dict[tuple, int]:
        with Session(engine) as session:
            return {(r.survey_id, r.touchpoint_id, r.day, r.question_id, r.option): r.answers
                    for r in session.scalars(select(ChoiceRollup)) if r.answers}

    incremental = stored()
    assert incremental
    with Session(engine) as session:
        rebuild_rollups(session)
        session.commit()
    assert stored() == incremental


def test_a_response_moved_to_another_day_moves_its_choices(engine, run_jobs):
    load(engine)
    run_jobs()
    with Session(engine) as session:
        response = session.scalars(select(Response).where(Response.nps == 10)).one()
        response.completed_at -= timedelta(days=45)
        record_response(session, response)
        record_response(session, response)  # again: nothing more moves
        session.commit()
        entry = session.get(RollupEntry, response.id)
        assert entry.day == local_day(response.completed_at)  # the next change starts from the new day
    found = charts_by_question(engine)
    assert (found["plan"].n, counts(found["plan"])) == (2, {"Basic": 1, "Pro": 0})
    with Session(engine) as session:
        old = choice_charts(session, resolve_filters(session, "choices", None, "90d"))
    assert (old[0].n, counts(old[0])) == (3, {"Basic": 1, "Pro": 1})
