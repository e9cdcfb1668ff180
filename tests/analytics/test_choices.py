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
from voc.surveys.models import Response, Touchpoint
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


def _answer_second_survey(engine, when, plan: str) -> None:
    """A survey titled to sort first, on a touchpoint of its own, asking the same question ids."""
    with Session(engine) as session:
        if not session.exec(select(Touchpoint).where(Touchpoint.key == "support")).first():
            f.touchpoint(session, "support", stage="support")
            f.survey(session, "second", touchpoint="support", questions=QUESTIONS[:2], recontact_days=0,
                     title="A second survey")
        outcome = f.event(session, f"s-{plan}-{when.isoformat()}", touchpoint="support", contact=f"s-{plan}",
                          occurred_at=when.isoformat())
        submit_response(session, f.token_of(outcome.invitation.url), [("nps", 8), ("plan", plan)], now=when)
        session.commit()


def test_each_survey_is_charted_apart_named_and_ordered_and_a_touchpoint_view_keeps_its_own(engine, run_jobs):
    load(engine)
    _answer_second_survey(engine, utcnow() - timedelta(days=1), "Pro")
    run_jobs()
    with Session(engine) as session:
        found = choice_charts(session, resolve_filters(session, None, None, "30d"))
        support = choice_charts(session, resolve_filters(session, None, "support", "30d"))
    # by survey title ("A second survey" before "How did we do?"), then question order
    assert [(c.survey_key, c.survey_title, c.question_id, c.prompt) for c in found] == [
        ("second", "A second survey", "plan", "Which plan?"), ("choices", "How did we do?", "plan", "Which plan?"),
        ("choices", "How did we do?", "liked", "What did you like?"),
        ("choices", "How did we do?", "reason", "What went wrong?"),
        ("choices", "How did we do?", "tier", "Your tier?")]
    assert (found[0].n, counts(found[0])) == (1, {"Basic": 0, "Pro": 1})  # the second survey's answers alone
    assert (found[1].n, counts(found[1])) == (3, {"Basic": 1, "Pro": 1})
    assert found[0].bars[1].params == {"survey": "second", "period": "30d", "answer": "plan:Pro"}
    assert [(c.survey_key, c.n, counts(c)) for c in support] == [("second", 1, {"Basic": 0, "Pro": 1})]


def test_the_first_day_of_the_view_counts_and_an_option_no_longer_offered_is_shown_last(engine, run_jobs):
    from datetime import UTC, datetime, time

    from sqlalchemy.orm.attributes import flag_modified

    from voc.surveys.models import Survey

    with Session(engine) as session:
        first_day = resolve_filters(session, None, None, "30d").first_day
    load(engine, days_ago=(utcnow() - datetime.combine(first_day, time(12), tzinfo=UTC)).total_seconds() / 86400)
    run_jobs()
    with Session(engine) as session:  # "Basic" is no longer offered; "Enterprise" is new
        survey = session.exec(select(Survey).where(Survey.key == "choices")).one()
        survey.questions = [{**q, "options": ["Pro", "Enterprise"]} if q["id"] == "plan" else q
                            for q in survey.questions]
        flag_modified(survey, "questions")
        session.commit()
    plan = charts_by_question(engine)["plan"]
    assert plan.n == 3  # answered on the view's first day (noon, UTC)
    assert [(bar.label, bar.count) for bar in plan.bars] == [("Pro", 1), ("Enterprise", 0), ("Basic", 1)]


def test_a_question_nobody_saw_in_the_view_has_empty_bars(engine, run_jobs):
    load(engine, days_ago=40)
    run_jobs()
    plan = charts_by_question(engine)["plan"]  # the survey is chosen: its questions show, with n = 0
    assert plan.n == 0 and [(b.count, b.share, b.low, b.high) for b in plan.bars] == [(0, 0.0, 0.0, 0.0)] * 2
