"""Follow-up cases opened by the rules when a response's analysis is stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from tests import factories as f
from tests.followups.helpers import make_case
from voc.auth.models import User
from voc.auth.users import create_user
from voc.config import get_settings
from voc.errors import VocError
from voc.followups import service
from voc.followups.mail import ASSIGNED_JOB
from voc.followups.models import Followup, FollowupNote
from voc.followups.priority import priority_at
from voc.followups.rules import followup_reason
from voc.followups.service import open_followup_if_needed
from voc.jobs.models import Job
from voc.sentiment.tasks import analyse_response
from voc.surveys.models import Response, Survey
from voc.surveys.responses import submit_response
from voc.webhooks.endpoints import create_endpoint
from voc.webhooks.models import WebhookMessage
from voc.webhooks.schemas import EndpointCreate

QUESTIONS = [{"id": "nps", "type": "nps", "prompt": "Recommend?", "required": True},
             {"id": "why", "type": "text", "prompt": "Why?"}]


def answer(engine, score, text, contact="c1") -> int:
    """A completed NPS response from `contact` (the touchpoint and survey are made on first use)."""
    with Session(engine) as session:
        if session.scalar(select(Survey.id)) is None:
            f.touchpoint(session)
            f.survey(session, questions=QUESTIONS, recontact_days=0)
        outcome = f.event(session, f"e-{contact}", contact=contact)
        response = submit_response(session, f.token_of(outcome.invitation.url),
                                   [("nps", score)] + ([("why", text)] if text else []))
        session.commit()
        return response.id


def subscribe(engine, monkeypatch) -> None:
    """An endpoint that takes followup.created (on a closed loopback port: nothing is sent anywhere)."""
    monkeypatch.setenv("VOC_WEBHOOK_ALLOW_PRIVATE", "true")
    get_settings.cache_clear()
    with Session(engine) as session:
        create_endpoint(session, EndpointCreate(url="http://127.0.0.1:9/hooks",
                                                event_types=["followup.created"]))
        session.commit()


def test_the_rules():
    assert followup_reason(Response(nps=6)) == "detractor"
    assert followup_reason(Response(nps=7)) is None
    assert followup_reason(Response(csat=2)) == "low_csat"
    assert followup_reason(Response(ces=1)) == "high_effort"
    assert followup_reason(Response(nps=10, analysis={"sentiment": {"compound": -0.7}})) == "negative_comment"
    assert followup_reason(Response(nps=10, analysis={"sentiment": {"compound": -0.4}})) is None
    assert followup_reason(Response(nps=9, analysis={"sentiment": None})) is None


def test_a_detractor_gets_one_case_and_the_crm_hears_of_it(engine, run_jobs, monkeypatch):
    subscribe(engine, monkeypatch)
    detractor = answer(engine, 3, "Late again and nobody called back.")
    promoter = answer(engine, 10, "Wonderful, friendly and quick. Thank you!", contact="c2")
    run_jobs()
    with Session(engine) as session:
        cases = list(session.scalars(select(Followup)))
        assert [(c.response_id, c.reason, c.status) for c in cases] == [(detractor, "detractor", "open")]
        messages = list(session.scalars(select(WebhookMessage).where(WebhookMessage.event_type
                                                                     == "followup.created")))
        assert len(messages) == 1
        assert messages[0].payload["data"] == {
            "contact": {"external_id": "c1", "crm": "default"},
            "followup": {"id": str(cases[0].id), "reason": "detractor", "response_id": str(detractor),
                         "status": "open"}}
        assert session.get(Response, promoter).analysis is not None

    # The analysis job run again: still one case, one message.
    with Session(engine) as session:
        analyse_response(session, {"response_id": detractor})
        open_followup_if_needed(session, session.get(Response, detractor))
        session.commit()
    with Session(engine) as session:
        assert session.scalar(select(func.count(Followup.id))) == 1
        assert session.scalar(select(func.count(WebhookMessage.id))
                              .where(WebhookMessage.event_type == "followup.created")) == 1


def test_a_happy_score_with_an_angry_comment_opens_a_case(engine, run_jobs):
    answer(engine, 10, "Terrible, awful, the worst service I have ever had. Disgusting and rude.")
    run_jobs()
    with Session(engine) as session:
        assert [c.reason for c in session.scalars(select(Followup))] == ["negative_comment"]


# Working cases: assigning (the assignee e-mailed), resolving in one step, in bulk; refusals with stable codes.

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)


def _users(session: Session) -> tuple[User, User]:
    return (create_user(session, "lead@example.com", "analyst", "correct horse battery"),
            create_user(session, "agent@example.com", "analyst", "correct horse battery"))


def _mail_jobs(session: Session) -> list[dict]:
    return [j.payload for j in session.scalars(select(Job).where(Job.kind == ASSIGNED_JOB).order_by(Job.id))]


def test_assigning_a_case_enqueues_an_email_to_the_assignee(engine):
    with Session(engine) as session:
        lead, agent = _users(session)
        case = make_case(session, "c1")
        service.assign_followup(session, case.id, agent.id, lead)
        session.commit()
        assert session.get(Followup, case.id).assignee_id == agent.id
        assert _mail_jobs(session) == [{"assignee_id": agent.id, "followup_ids": [case.id],
                                        "assigned_by": "lead@example.com"}]
        service.assign_followup(session, case.id, agent.id, lead)  # no change: no second mail
        service.assign_followup(session, case.id, lead.id, lead)  # to oneself: nobody to tell
        service.assign_followup(session, case.id, None, lead)  # to nobody
        session.commit()
        assert len(_mail_jobs(session)) == 1 and session.get(Followup, case.id).assignee_id is None


def test_bulk_assign_changes_every_case_and_sends_one_email(engine):
    with Session(engine) as session:
        lead, agent = _users(session)
        cases = [make_case(session, f"c{n}").id for n in range(3)]
        service.assign_followups(session, [cases[0]], agent.id, lead)
        changed = service.assign_followups(session, cases, agent.id, lead)
        session.commit()
        assert changed == 2  # the first was theirs already
        assert {session.get(Followup, i).assignee_id for i in cases} == {agent.id}
        assert [p["followup_ids"] for p in _mail_jobs(session)] == [[cases[0]], sorted(cases[1:])]


def test_resolve_in_one_step_from_open_with_a_note(engine):
    with Session(engine) as session:
        lead, _ = _users(session)
        case = make_case(session, "c1")
        assert case.status == "open"
        service.resolve_followup(session, case.id, lead, "  Called back, refund sent.  ")
        session.commit()
        stored = session.get(Followup, case.id)
        assert stored.status == "resolved" and stored.resolved_at is not None
        notes = list(session.scalars(select(FollowupNote).where(FollowupNote.followup_id == case.id)))
        assert [(n.text, n.author_id) for n in notes] == [("Called back, refund sent.", lead.id)]
        service.resolve_followup(session, case.id, lead)  # again, without a note: nothing changes
        session.commit()
        assert session.scalar(select(func.count(FollowupNote.id))) == 1


def test_bulk_resolve_from_any_open_state_skips_resolved_cases(engine):
    with Session(engine) as session:
        lead, _ = _users(session)
        new, working, closed = (make_case(session, f"c{n}").id for n in range(3))
        service.set_followup_status(session, working, "in_progress")
        service.resolve_followups(session, [closed], lead)
        assert service.resolve_followups(session, [new, working, closed], lead, "Batch: courier issue fixed") == 2
        session.commit()
        assert {session.get(Followup, i).status for i in (new, working, closed)} == {"resolved"}
        noted = sorted(n.followup_id for n in session.scalars(select(FollowupNote)))
        assert noted == sorted([new, working])


@pytest.mark.parametrize(("values", "code"), [
    (["abc"], "invalid_followup_id"), (["-1"], "invalid_followup_id"), (["1\x00"], "invalid_followup_id"),
    (["²"], "invalid_followup_id"), (["2147483648"], "followup_not_found"), ([], "no_cases_selected"),
    ([str(n) for n in range(1, 502)], "too_many_cases"),
])
def test_case_ids_from_a_form_are_checked(values, code):
    with pytest.raises(VocError) as refused:
        service.parse_case_ids(values)
    assert refused.value.code == code and refused.value.status_code in (404, 422)


def test_unknown_cases_and_assignees_change_nothing(engine):
    with Session(engine) as session:
        lead, agent = _users(session)
        viewer = create_user(session, "viewer@example.com", "viewer", "correct horse battery")
        case = make_case(session, "c1").id
        session.commit()
        attempts = [
            (lambda: service.assign_followups(session, [case, 999_999], agent.id, lead), "followup_not_found", 404),
            (lambda: service.resolve_followups(session, [case, 999_999], lead), "followup_not_found", 404),
            (lambda: service.assign_followups(session, [case], 999_999, lead), "user_not_found", 422),
            (lambda: service.assign_followups(session, [case], viewer.id, lead), "assignee_not_allowed", 422),
            (lambda: service.resolve_followups(session, [case], lead, "a\x00b"), "invalid_text", 422),
            (lambda: service.resolve_followups(session, [case], lead, "x" * 5001), "note_too_long", 422),
            (lambda: service.add_note(session, case, lead, "half \ud800 a pair"), "invalid_text", 422),
            (lambda: service.parse_assignee("root", lead), "user_not_found", 422),
        ]
        for attempt, code, status in attempts:
            with pytest.raises(VocError) as refused:
                attempt()
            assert (refused.value.code, refused.value.status_code) == (code, status)
            session.rollback()
        stored = session.get(Followup, case)
        assert stored.status == "open" and stored.assignee_id is None and _mail_jobs(session) == []


def test_the_migration_ranks_and_dates_the_cases_already_open(database_url, engine, monkeypatch):
    """Upgrading to 0014 with cases in the database gives each its touchpoint, due time and priority."""
    from alembic import command

    from voc.db import alembic_config, migrate

    with Session(engine) as session:
        severe = make_case(session, "c1", nps=0, value=99, touchpoint="support", opened=NOW).id
        session.commit()
    command.downgrade(alembic_config(database_url), "0013")
    monkeypatch.setenv("VOC_FOLLOWUP_SLA_HOURS", "10")
    get_settings.cache_clear()
    migrate(database_url)
    with Session(engine) as session:
        case = session.get(Followup, severe)
        # No touchpoint had an SLA before 0014: the workspace's, from the case's opening.
        assert case.touchpoint_id is not None and case.due_at == NOW + timedelta(hours=10)
        assert round(priority_at(case.priority_key, NOW)) == 70
