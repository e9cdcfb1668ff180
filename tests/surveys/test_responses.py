"""Storing answers: validation per question type, CRM-known answers, versions, one response per link."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from tests import factories as f
from tests.aio import run_in_threads
from voc.db import Refused, utcnow
from voc.errors import VocError
from voc.jobs.models import Job
from voc.surveys import responses, service
from voc.surveys.models import Answer, Response
from voc.surveys.schemas import SurveyUpdate

QUESTIONS = [
    {"id": "nps", "type": "nps", "prompt": "Recommend us?", "required": True},
    {"id": "csat", "type": "csat", "prompt": "Satisfied?"},
    {"id": "ces", "type": "ces", "prompt": "Easy?"},
    {"id": "stars", "type": "rating", "prompt": "Stars?", "scale": 10},
    {"id": "channel", "type": "single_choice", "prompt": "How?", "options": ["Web", "Phone"]},
    {"id": "topics", "type": "multi_choice", "prompt": "What?", "options": ["Price", "Speed", "Staff"]},
    {"id": "why", "type": "text", "prompt": "Why?"},
    {"id": "fix", "type": "text", "prompt": "What should we fix?", "show_if": {"question_id": "nps", "op": "lte",
                                                                              "value": 6}},
    {"id": "segment", "type": "single_choice", "prompt": "Are you a business?", "options": ["B2B", "B2C"],
     "attribute": "segment", "required": True},
]


@pytest.fixture
def token(session):
    f.touchpoint(session)
    f.survey(session, questions=QUESTIONS)
    outcome = f.event(session, contact_fields={"attributes": {"segment": "B2B"}})
    session.commit()
    return f.token_of(outcome.invitation.url)


def _error(session, token, answers):
    with pytest.raises(VocError) as caught:
        responses.submit_response(session, token, answers)
    session.rollback()
    return caught.value


def test_every_type_is_stored_typed(session, token):
    response = responses.submit_response(session, token, [
        ("nps", 9), ("csat", "4"), ("ces", 6), ("stars", 10), ("channel", "Web"), ("topics", ["Speed", "Staff"]),
        ("why", "Fast and friendly"), ("fix", "ignored: nps is 9, so this question is not shown")])
    stored = responses.get_response(session, response.id)
    values = {a.question_id: a.value for a in stored.answers}
    assert values == {"nps": 9, "csat": 4, "ces": 6, "stars": 10, "channel": ["Web"], "topics": ["Speed", "Staff"],
                      "why": "Fast and friendly", "segment": "B2B"}
    assert stored.scores == {"nps": 9, "csat": 4, "ces": 6}
    assert {a.question_id: a.source for a in stored.answers}["segment"] == "crm"


@pytest.mark.parametrize(("answers", "code"), [
    ([("nps", 11)], "answer_out_of_range"),
    ([("nps", -1)], "answer_out_of_range"),
    ([("nps", 7.5)], "answer_invalid"),
    ([("nps", True)], "answer_invalid"),
    ([("nps", 8), ("csat", 0)], "answer_out_of_range"),
    ([("nps", 8), ("ces", 8)], "answer_out_of_range"),
    ([("nps", 8), ("stars", 11)], "answer_out_of_range"),
    ([("nps", 8), ("channel", "Fax")], "answer_invalid"),
    ([("nps", 8), ("topics", ["Price", "Nope"])], "answer_invalid"),
    ([("nps", 8), ("why", 42)], "answer_invalid"),
    ([("nps", 8), ("why", "x" * 10_001)], "answer_too_long"),
    ([("csat", 3)], "answer_required"),
    ([("nps", 8), ("ghost", 1)], "unknown_question"),
    ([("nps", 8), ("nps", 9)], "duplicate_answer"),
])
def test_bad_answers_are_refused_with_a_stable_code(session, token, answers, code):
    error = _error(session, token, answers)
    assert error.code == code and error.status_code == 422
    assert session.scalar(select(func.count(Response.id))) == 0


def test_show_if_asks_follow_up_only_when_it_applies(session, token):
    response = responses.submit_response(session, token, [("nps", 3), ("fix", "Your prices")])
    assert {a.question_id for a in responses.get_response(session, response.id).answers} == {"nps", "fix", "segment"}


def test_a_text_of_exactly_ten_thousand_characters_is_kept(session, token):
    response = responses.submit_response(session, token, [("nps", 5), ("why", "é" * 10_000)])
    assert response.comment == "é" * 10_000


def test_the_crm_known_question_is_not_asked(session, token):
    opened = responses.load_invitation(session, token)
    assert "segment" not in [q["id"] for q in opened.questions]
    assert opened.prefilled == {"segment": "B2B"}


def test_one_response_per_link_and_then_a_clear_refusal(session, token):
    responses.submit_response(session, token, [("nps", 9)])
    session.commit()
    assert _error(session, token, [("nps", 3)]).code == "already_answered"
    assert [a.number for a in session.scalars(select(Answer).where(Answer.question_id == "nps"))] == [9]


def test_racing_submits_store_exactly_one_response(engine, token):
    barrier, outcomes = threading.Barrier(4), []

    def submit(score):
        with Session(engine) as session:
            barrier.wait()
            try:
                responses.submit_response(session, token, [("nps", score)])
                session.commit()
                outcomes.append("stored")
            except VocError as exc:
                session.rollback()
                outcomes.append(exc.code)

    run_in_threads(submit, [(n,) for n in range(4)])
    assert sorted(outcomes) == ["already_answered"] * 3 + ["stored"]
    with Session(engine) as session:
        assert session.scalar(select(func.count(Response.id))) == 1


def test_expired_and_unknown_links(session, token):
    assert _error(session, "not-a-token", [("nps", 1)]).code == "token_invalid"
    with pytest.raises(VocError) as caught:
        responses.load_invitation(session, token, now=utcnow() + timedelta(days=400))
    assert (caught.value.code, caught.value.status_code) == ("token_expired", 410)


def test_a_paused_survey_refuses_answers(session, token):
    service.update_survey(session, "post_delivery", SurveyUpdate(status="paused"))
    assert _error(session, token, [("nps", 9)]).code == "survey_inactive"


def test_responses_keep_the_version_they_answered(session, token):
    first = responses.submit_response(session, token, [("nps", 9)])
    survey = service.update_survey(session, "post_delivery", SurveyUpdate(
        questions=[{"id": "nps", "type": "nps", "prompt": "Would you recommend us now?", "required": True}]))
    assert survey.version == 2
    later = f.event(session, "e2", contact="crm-2")
    second = responses.submit_response(session, f.token_of(later.invitation.url), [("nps", 4)])
    assert responses.get_response(session, first.id).survey_version == 1
    assert responses.get_response(session, second.id).survey_version == 2
    # A change to triggers or status alone is not a new version.
    assert service.update_survey(session, "post_delivery", SurveyUpdate(recontact_days=3)).version == 2


def test_each_database_asks_its_own_version_of_a_survey(tmp_path, sqlite_template, monkeypatch):
    """Survey versions are kept in memory once read. Two databases (a restored one, a fresh one) with a
    version of the same id but other questions: each invitation is asked, and validated against, its own."""
    import shutil

    from voc.db import make_engine

    monkeypatch.setattr(responses.Versions, "SIZE", 1)  # and each read drops the other's: read again, right
    tokens, engines = [], []
    for name, prompt, scale in (("a", "Stars for the courier?", 5), ("b", "Stars for the shop?", 10)):
        path = tmp_path / f"{name}.db"
        shutil.copy(sqlite_template, path)
        engines.append(engine := make_engine(f"sqlite:///{path}"))
        with Session(engine) as session:
            f.touchpoint(session)
            f.survey(session, questions=[{"id": "stars", "type": "rating", "prompt": prompt, "scale": scale}])
            tokens.append(f.token_of(f.event(session).invitation.url))
            session.commit()
    try:
        for _ in range(2):
            for engine, token, prompt in zip(engines, tokens, ("Stars for the courier?", "Stars for the shop?"),
                                             strict=True):
                with Session(engine) as session:
                    opened = responses.load_invitation(session, token)
                assert opened.version.questions[0]["prompt"] == prompt
        with Session(engines[0]) as session:  # 8 is out of the courier's 5 stars, not of the shop's 10
            assert isinstance(responses.store_responses(session, [(tokens[0], [("stars", 8)])])[0], Refused)
        with Session(engines[1]) as session:
            assert isinstance(responses.store_responses(session, [(tokens[1], [("stars", 8)])])[0], int)
    finally:
        for engine in engines:
            engine.dispose()


def test_answers_stored_together_give_each_its_own_outcome_and_keep_only_the_valid(session, token):
    """The answer path's writer stores what is queued together in one call: each submission gets what it
    would get alone (its id, or its own refusal), and a refused one leaves nothing of its own."""
    more = [f.token_of(f.event(session, event_id=f"evt-{n}", contact=f"crm-{n}",
                               contact_fields={"attributes": {"segment": "B2C"}}).invitation.url) for n in (2, 3, 4)]
    answered = more[2]
    earlier = responses.store_response(session, answered, [("nps", 10)])
    session.commit()
    outcomes = responses.store_responses(session, [
        (token, [("nps", 9), ("why", "Fast and friendly")]),
        (more[0], [("nps", 11)]),  # out of range: 422
        ("not-a-token", [("nps", 5)]),  # 404
        (more[1], [("nps", 2), ("fix", "The box")]),
        (token, [("nps", 1)]),  # the same link twice in one batch: the first is kept
        (answered, [("nps", 0)]),  # answered before: 409
    ])
    session.commit()
    refused = {i: o.error.code for i, o in enumerate(outcomes) if isinstance(o, Refused)}
    assert refused == {1: "answer_out_of_range", 2: "token_invalid", 4: "already_answered", 5: "already_answered"}
    stored = {r.id: r for r in session.scalars(select(Response))}
    assert set(stored) == {earlier, outcomes[0], outcomes[3]}
    assert (stored[outcomes[0]].nps, stored[outcomes[0]].comment) == (9, "Fast and friendly")
    assert (stored[outcomes[3]].nps, stored[outcomes[3]].comment) == (2, "The box")
    by_response = {(a.response_id, a.question_id): (a.number, a.text, a.source)
                   for a in session.scalars(select(Answer))}
    assert by_response[(outcomes[0], "segment")] == (None, "B2B", "crm")  # each its own contact's
    assert by_response[(outcomes[3], "segment")] == (None, "B2C", "crm")
    assert {k for k in by_response if k[0] == outcomes[3]} == {(outcomes[3], q) for q in ("nps", "fix", "segment")}
    jobs = session.scalars(select(Job).where(Job.kind == "response.completed")).all()
    assert sorted(j.payload["response_id"] for j in jobs) == sorted(stored)
    # Never opened, nothing saved step by step: the worker counts each as opened and started with its response.
    assert all(j.payload["funnel"] == ["opened", "started"] for j in jobs)
    # The refused link can still be answered; the stored ones cannot.
    assert isinstance(responses.store_responses(session, [(more[0], [("nps", 7)])])[0], int)
    assert _error(session, token, [("nps", 3)]).code == "already_answered"
