"""Answers saved step by step: checked per type, merged into the one response, exactly once under races."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from tests import factories as f
from tests.aio import run_in_threads
from voc.errors import VocError
from voc.surveys import partials, responses
from voc.surveys.models import PartialResponse, Response

QUESTIONS = [
    {"id": "nps", "type": "nps", "prompt": "Recommend us?", "required": True},
    {"id": "fix", "type": "text", "prompt": "What should we fix?", "show_if": {"question_id": "nps", "op": "lte",
                                                                              "value": 6}},
    {"id": "topics", "type": "multi_choice", "prompt": "What?", "options": ["Price", "Speed"]},
    {"id": "channel", "type": "single_choice", "prompt": "How?", "options": ["Web", "Phone"], "required": True},
]


@pytest.fixture
def token(session):
    f.touchpoint(session)
    f.survey(session, questions=QUESTIONS)
    outcome = f.event(session)
    session.commit()
    return f.token_of(outcome.invitation.url)


def question(opened, question_id):
    return next(q for q in opened.version.questions if q["id"] == question_id)


def test_each_step_is_checked_for_its_type_and_saved_typed(session, token):
    opened = responses.load_invitation(session, token)
    assert partials.save_step(session, opened, question(opened, "nps"), "")["code"] == "answer_required"
    assert partials.save_step(session, opened, question(opened, "nps"), "11")["code"] == "answer_out_of_range"
    assert partials.save_step(session, opened, question(opened, "topics"), ["Nope"])["code"] == "answer_invalid"
    assert partials.save_step(session, opened, question(opened, "nps"), "4").number == 4
    assert partials.step_after(opened, "nps")["id"] == "fix"
    partials.save_step(session, opened, question(opened, "fix"), "  ")  # optional: skipped
    partials.save_step(session, opened, question(opened, "topics"), ["Speed", "Price", "Speed"])
    session.commit()
    again = responses.load_invitation(session, token)
    assert again.saved == {"nps": 4, "fix": None, "topics": ["Speed", "Price"]}
    assert partials.resume_step(again)["id"] == "channel"
    assert partials.step_before(again, "channel")["id"] == "topics"
    assert [q["id"] for q in partials.shown(again)] == ["nps", "fix", "topics", "channel"]


def test_the_api_submit_merges_saved_answers_and_completes_the_partial_response(session, token):
    opened = responses.load_invitation(session, token)
    partials.save_step(session, opened, question(opened, "nps"), "9")
    partials.save_step(session, opened, question(opened, "topics"), ["Price"])
    session.commit()
    # What is given now wins over what was saved; what was saved fills the rest.
    response_id = responses.store_response(session, token, [("nps", 10), ("channel", "Web")])
    session.commit()
    stored = responses.get_response(session, response_id)
    assert {a.question_id: a.value for a in stored.answers} == {"nps": 10, "topics": ["Price"], "channel": ["Web"]}
    assert session.scalars(select(PartialResponse)).one().completed_at is not None


def test_a_saved_answer_can_meet_a_required_question(session, token):
    opened = responses.load_invitation(session, token)
    partials.save_step(session, opened, question(opened, "channel"), "Phone")
    session.commit()
    with pytest.raises(VocError) as caught:
        responses.store_response(session, token, [("topics", ["Speed"])])
    assert caught.value.code == "answer_required" and caught.value.details[0]["question_id"] == "nps"
    session.rollback()
    responses.store_response(session, token, [("nps", 8)])


def test_racing_last_steps_store_exactly_one_response(engine, token):
    with Session(engine) as session:
        opened = responses.load_invitation(session, token)
        partials.save_step(session, opened, question(opened, "nps"), "9")
        session.commit()
    barrier, outcomes = threading.Barrier(4), []

    def finish(choice):
        with Session(engine) as session:
            barrier.wait()
            try:
                opened = responses.load_invitation(session, token)
                partials.save_step(session, opened, question(opened, "channel"), choice)
                responses.store_response(session, token, [])
                session.commit()
                outcomes.append("stored")
            except VocError as exc:
                session.rollback()
                outcomes.append(exc.code)

    run_in_threads(finish, [(c,) for c in ("Web", "Phone", "Web", "Phone")])
    assert sorted(outcomes) == ["already_answered"] * 3 + ["stored"]
    with Session(engine) as session:
        assert session.scalar(select(func.count(Response.id))) == 1
        assert session.scalar(select(func.count(PartialResponse.id))) == 1


def test_a_language_choice_alone_does_not_start_the_response_and_is_kept_by_later_steps(session, token):
    from datetime import timedelta

    from voc.db import utcnow

    chose = utcnow() - timedelta(hours=2)
    partials.remember_language(session, responses.load_invitation(session, token), "de", now=chose)
    session.commit()
    stepped = chose + timedelta(hours=1)
    opened = responses.load_invitation(session, token)
    partials.save_step(session, opened, question(opened, "nps"), "9", now=stepped)
    opened = responses.load_invitation(session, token)
    partials.save_step(session, opened, question(opened, "topics"), ["Speed"], now=stepped + timedelta(minutes=5))
    session.commit()
    row = session.scalars(select(PartialResponse)).one()
    assert row.language == "de"  # a step without a language keeps the chosen one
    assert row.started_at == stepped  # the response started at its first step, not at the language choice
    assert row.last_question_id == "topics"
    assert row.updated_at == stepped + timedelta(minutes=5)
