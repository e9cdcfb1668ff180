"""What happens when a touchpoint event arrives: invited, or suppressed and why."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests import factories as f
from tests.aio import run_in_threads
from voc.db import utcnow
from voc.errors import Invalid
from voc.jobs.models import Job
from voc.surveys.models import Contact, Event, Invitation


@pytest.fixture
def delivered(session):
    f.touchpoint(session)
    return session


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_invites_with_a_link_and_answers_the_same_event_the_same_way(delivered):
    first = f.event(delivered, "e1")
    assert first.outcome == "suppressed" and first.reason == "no_active_survey"
    f.survey(delivered)
    second = f.event(delivered, "e2")
    assert second.outcome == "invited" and second.survey == "post_delivery"
    assert second.invitation is not None and "/s/" in second.invitation.url  # the link the CRM sends on
    assert f.event(delivered, "e2") == second
    delivered.expire_all()  # the answers again come from the stored rows, not the objects in this session
    assert f.event(delivered, "e1") == first  # still the first answer, though a survey is active now
    assert f.event(delivered, "e2") == second
    assert _count(delivered, Invitation) == 1 and _count(delivered, Event) == 2


def test_condition_false_and_the_contact_attributes_count(delivered):
    f.survey(delivered, trigger={"conditions": [{"attribute": "order_value", "op": "gte", "value": 50}]})
    low = f.event(delivered, "e1", attributes={"order_value": 20})
    assert (low.outcome, low.reason) == ("suppressed", "condition_false")
    high = f.event(delivered, "e2", contact="crm-2", attributes={"order_value": 80})
    assert high.outcome == "invited"


def test_sampling_keeps_a_customer_consistently_in_or_out(delivered):
    f.survey(delivered, trigger={"sample_rate": 0.5}, recontact_days=0)
    outcomes = {}
    for n in range(40):
        outcome = f.event(delivered, f"e{n}", contact=f"c{n}")
        outcomes[f"c{n}"] = outcome.outcome
        assert outcome.reason in (None, "sampled_out")
    assert 8 < list(outcomes.values()).count("invited") < 32
    # Weeks later (past every quarantine), the same people are in or out again.
    later = utcnow() + timedelta(days=60)
    for n in range(40):
        again = f.event(delivered, f"later{n}", contact=f"c{n}", occurred_at=later + timedelta(minutes=n))
        assert again.outcome == outcomes[f"c{n}"]


def test_recontact_days_and_the_workspace_cooldown_quarantine(delivered, monkeypatch):
    f.touchpoint(delivered, "ticket_closed", stage="support")
    f.survey(delivered, recontact_days=30)
    f.survey(delivered, key="support_ces", touchpoint="ticket_closed")
    now = utcnow()
    assert f.event(delivered, "e1", occurred_at=now).outcome == "invited"
    # Another survey, two days later: the workspace-wide cooldown (7 days) holds.
    other = f.event(delivered, "e2", touchpoint="ticket_closed", occurred_at=now + timedelta(days=2))
    assert (other.outcome, other.reason) == ("suppressed", "quarantined")
    # Ten days later the cooldown is over, but the delivery survey's 30 days are not.
    same = f.event(delivered, "e3", occurred_at=now + timedelta(days=10))
    assert (same.outcome, same.reason) == ("suppressed", "quarantined")
    assert f.event(delivered, "e4", touchpoint="ticket_closed", occurred_at=now + timedelta(days=10)).outcome \
        == "invited"
    assert f.event(delivered, "e5", occurred_at=now + timedelta(days=45)).outcome == "invited"


def test_opted_out_contacts_are_never_invited(delivered):
    f.survey(delivered)
    f.event(delivered, "e0", contact="someone-else")
    contact = Contact(external_id="crm-9", opted_out=True)
    delivered.add(contact)
    delivered.flush()
    outcome = f.event(delivered, "e1", contact="crm-9")
    assert (outcome.outcome, outcome.reason) == ("suppressed", "opted_out")


def test_inactive_surveys_do_not_invite(delivered):
    f.survey(delivered, status="paused")
    assert f.event(delivered, "e1").reason == "no_active_survey"


def test_an_unknown_touchpoint_is_a_validation_error(delivered):
    with pytest.raises(Invalid) as caught:
        f.event(delivered, "e1", touchpoint="nope")
    assert caught.value.code == "touchpoint_not_found"


def test_delay_makes_the_invitation_usable_and_announced_later(delivered):
    f.survey(delivered, trigger={"delay_minutes": 90, "expires_after_hours": 48})
    outcome = f.event(delivered, "e1")
    invitation = delivered.get(Invitation, outcome.invitation.id)
    assert invitation.status == "scheduled"
    assert timedelta(minutes=89) < invitation.invited_at - utcnow() <= timedelta(minutes=90)
    assert invitation.expires_at - invitation.invited_at == timedelta(hours=48)
    job = delivered.scalars(select(Job).where(Job.kind == "invitation.announce")).one()
    assert job.run_at == invitation.invited_at


def test_contact_details_from_the_crm_update_what_voc_knew(delivered):
    f.survey(delivered)
    f.event(delivered, "e1", contact_fields={"email": "a@example.com", "attributes": {"tier": "gold"}})
    f.event(delivered, "e2", contact_fields={"attributes": {"city": "Oslo"}})
    contact = delivered.scalars(select(Contact)).one()
    assert contact.email == "a@example.com" and contact.attributes == {"tier": "gold", "city": "Oslo"}


def test_the_same_event_reported_twice_at_once_invites_once(engine):
    import threading

    from sqlmodel import Session

    with Session(engine) as session:
        f.touchpoint(session)
        f.survey(session)
        session.commit()
    barrier, answers = threading.Barrier(3), []

    def report():
        with Session(engine) as session:
            barrier.wait()
            answers.append(f.event(session, "twin").model_dump())
            session.commit()

    run_in_threads(report, [()] * 3)
    assert len(answers) == 3 and answers[0] == answers[1] == answers[2]
    assert answers[0]["outcome"] == "invited"
    with Session(engine) as session:
        assert _count(session, Invitation) == 1 and _count(session, Event) == 1
