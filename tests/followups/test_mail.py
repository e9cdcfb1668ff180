"""The assignee's e-mail, sent by the worker to a real SMTP server on loopback."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from tests.email.conftest import smtp, smtp_down  # noqa: F401 - the loopback SMTP server fixtures
from tests.followups.helpers import make_case
from voc.auth.users import create_user
from voc.followups import service
from voc.followups.mail import ASSIGNED_JOB
from voc.jobs.models import Job


def _assign(engine, count: int = 1, *, contact: str = "CUS-<1>") -> tuple[list[int], int, int]:
    with Session(engine) as session:
        lead = create_user(session, "lead@example.com", "analyst", "correct horse battery")
        agent = create_user(session, "agent@example.com", "analyst", "correct horse battery")
        cases = [make_case(session, f"{contact}{n}").id for n in range(count)]
        service.assign_followups(session, cases, agent.id, lead)
        session.commit()
        return cases, lead.id, agent.id


def _job_status(engine) -> str:
    with Session(engine) as session:
        return session.scalars(select(Job.status).where(Job.kind == ASSIGNED_JOB)).one()


def test_the_assignee_is_mailed_the_cases_with_links(engine, run_jobs, smtp):  # noqa: F811
    cases, _, _ = _assign(engine, 2)
    run_jobs()
    assert _job_status(engine) == "done"
    [received] = smtp.handler.received
    assert received.recipients == ["agent@example.com"]
    message = received.message
    assert message["Subject"] == "2 follow-up cases assigned to you"
    assert message["Auto-Submitted"] == "auto-generated"
    body = message.get_content()
    assert "lead@example.com assigned 2 follow-up cases to you" in body
    for case in cases:
        assert f"http://testserver/dashboard/followups/{case}" in body
    assert "CUS-<1>0" in body and "Detractor" in body  # plain text: nothing to escape


def test_a_case_handed_on_before_the_mail_goes_is_left_out(engine, run_jobs, smtp):  # noqa: F811
    cases, lead_id, _ = _assign(engine, 2)
    with Session(engine) as session:
        from voc.auth.models import User

        service.assign_followups(session, [cases[0]], None, session.get(User, lead_id))
        service.resolve_followups(session, [cases[1]], session.get(User, lead_id))
        session.commit()
    run_jobs()
    assert smtp.handler.received == [] and _job_status(engine) == "done"  # nothing left to tell


def test_without_smtp_the_job_gives_up_and_the_assignment_stands(engine, run_jobs):
    cases, _, agent_id = _assign(engine)
    run_jobs()
    assert _job_status(engine) == "dead"
    with Session(engine) as session:
        from voc.followups.models import Followup

        assert session.get(Followup, cases[0]).assignee_id == agent_id


def test_a_server_that_is_down_is_tried_again(engine, run_jobs, smtp_down):  # noqa: F811
    _assign(engine)
    run_jobs()
    assert _job_status(engine) == "queued"  # retried later, with backoff
