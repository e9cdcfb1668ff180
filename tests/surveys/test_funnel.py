"""Drop-off per question on a scripted set of partial responses, and opened → started → completed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlmodel import Session

from tests import factories as f
from voc.analytics.rollups import rebuild_rollups
from voc.db import utcnow
from voc.surveys import responses
from voc.surveys.funnel import survey_funnel
from voc.surveys.models import Invitation, PartialResponse
from voc.surveys.service import get_survey

QUESTIONS = [
    {"id": "q1", "type": "nps", "prompt": "Recommend us?", "required": True},
    {"id": "q2", "type": "text", "prompt": "What went wrong?",
     "show_if": {"question_id": "q1", "op": "lte", "value": 6}},
    {"id": "q3", "type": "single_choice", "prompt": "How did you order?", "options": ["Web", "Phone"]},
    {"id": "q4", "type": "text", "prompt": "Your nickname?", "attribute": "nick"},  # the CRM may know it
]
NOW = utcnow()
# contact -> (opened how long ago, saved answers or None for no partial row, contact attributes)
SCRIPT = {
    "opened-only": (timedelta(hours=1), None, {}),
    "chose-language": (timedelta(hours=1), {}, {}),
    "stopped-q3": (timedelta(hours=2), {"q1": 9}, {}),  # q2 is not shown for a 9
    "stopped-q2": (timedelta(hours=2), {"q1": 3}, {}),
    "skipped-q2": (timedelta(hours=3), {"q1": 3, "q2": None}, {}),  # an optional question left empty
    "known-nick": (timedelta(hours=3), {"q1": 9, "q3": "Web"}, {"nick": "Jo"}),  # nothing left but sending
    "stopped-q4": (timedelta(hours=4), {"q1": 9, "q3": "Web"}, {}),
    "long-ago": (timedelta(days=40), {"q1": 3}, {}),
}


@pytest.fixture
def scripted(session):
    f.touchpoint(session)
    f.survey(session, key="funnel", questions=QUESTIONS)
    tokens = {}
    for index, contact in enumerate([*SCRIPT, "completed-steps", "completed-api", "never-opened"]):
        attributes = SCRIPT[contact][2] if contact in SCRIPT else {}
        outcome = f.event(session, event_id=f"e{index}", contact=contact, contact_fields={"attributes": attributes})
        tokens[contact] = f.token_of(outcome.invitation.url)
    session.flush()
    for contact, (ago, saved, _) in SCRIPT.items():
        invitation = session.get(Invitation, responses.load_invitation(session, tokens[contact]).invitation_id)
        invitation.opened_at = NOW - ago
        session.add(invitation)
        if saved is not None:
            session.add(PartialResponse(invitation_id=invitation.id, survey_id=invitation.survey_id,
                                        survey_version_id=invitation.survey_version_id, answers=saved,
                                        started_at=NOW - ago, updated_at=NOW - ago))
    session.flush()
    # One finished step by step (its partial row is kept, completed), one sent at once through the API path.
    opened = responses.load_invitation(session, tokens["completed-steps"])
    session.add(PartialResponse(invitation_id=opened.invitation_id, survey_id=opened.survey_id,
                                survey_version_id=opened.survey_version_id, answers={"q1": 10}))
    session.flush()
    responses.store_response(session, tokens["completed-steps"], [("q3", "Phone")])
    responses.store_response(session, tokens["completed-api"], [("q1", 2)])
    # The rows above were written directly, not through the page: recount the rollups from them.
    rebuild_rollups(session)
    session.commit()
    return tokens


def test_drop_off_per_question_on_scripted_partial_responses(session, scripted):
    funnel = survey_funnel(session, get_survey(session, "funnel"))
    assert (funnel.opened, funnel.started, funnel.completed) == (10, 8, 2)
    assert {q.question_id: q.dropped for q in funnel.questions} == {"q1": 0, "q2": 2, "q3": 2, "q4": 1}
    assert [q.question_id for q in funnel.questions] == ["q1", "q2", "q3", "q4"]  # in survey order
    assert funnel.dropped_before_sending == 1
    assert sum(q.dropped for q in funnel.questions) + funnel.dropped_before_sending == funnel.started - funnel.completed
    assert funnel.completion_rate == pytest.approx(0.2)
    kept = session.scalars(select(PartialResponse).join(Invitation, Invitation.id == PartialResponse.invitation_id)
                           .where(Invitation.completed_at.is_not(None))).one()
    assert kept.completed_at is not None and kept.answers == {"q1": 10}  # kept for the funnel, marked completed


def test_the_period_counts_what_happened_on_its_days(session, scripted):
    # Whole UTC days: everything of the last week, not the invitation opened and started 40 days ago.
    funnel = survey_funnel(session, get_survey(session, "funnel"), since=NOW - timedelta(days=7),
                           until=NOW + timedelta(days=1))
    assert (funnel.opened, funnel.started, funnel.completed) == (9, 7, 2)
    assert {q.question_id: q.dropped for q in funnel.questions} == {"q1": 0, "q2": 1, "q3": 2, "q4": 1}
    assert funnel.dropped_before_sending == 1
    assert sum(q.dropped for q in funnel.questions) + funnel.dropped_before_sending == funnel.started - funnel.completed
    empty = survey_funnel(session, get_survey(session, "funnel"), since=NOW + timedelta(days=1))
    assert (empty.opened, empty.started, empty.completed, empty.completion_rate) == (0, 0, 0, None)


def test_the_funnel_counted_as_it_happens_equals_a_recount(client, engine, run_jobs):
    """Opened on the page, started by a step or a one-shot submit, completed: the rollups kept by each
    request agree with a rebuild from the stored rows."""
    with Session(engine) as session:
        f.touchpoint(session)
        f.survey(session, key="funnel", questions=QUESTIONS[:3], recontact_days=0)
        links = ["/s/" + f.token_of(f.event(session, f"e{i}", contact=f"c{i}").invitation.url) for i in range(5)]
        session.commit()
    client.get(links[0])  # opened only
    client.get(links[1] + "?lang=de")  # opened, chose a language, left no step
    client.post(links[2], data={"step": "q1", "q_q1": "3", "action": "next"})  # started, stopped at q2
    f.one_click(client, links[3], "q1", 9)  # one click, then finished through the API
    assert client.post("/api/v1/responses", json={"token": links[3][3:], "answers": []}).status_code == 201
    assert client.post("/api/v1/responses", json={"token": links[4][3:],  # never shown: opened, started, done
                                                  "answers": [{"question_id": "q1", "value": 10}]}).status_code == 201
    run_jobs()
    with Session(engine) as session:
        live = survey_funnel(session, get_survey(session, "funnel"))
        assert (live.opened, live.started, live.completed) == (5, 3, 2)
        rebuild_rollups(session)
        session.flush()
        assert survey_funnel(session, get_survey(session, "funnel")) == live
