"""Follow-up cases in one line each: a real event, answer and case (no analysis job run), opened when told."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from tests import factories as f
from voc.followups.models import Followup
from voc.followups.service import open_followup_if_needed
from voc.surveys.models import Survey, Touchpoint
from voc.surveys.responses import submit_response

QUESTIONS = [{"id": "nps", "type": "nps", "prompt": "Recommend?", "required": True},
             {"id": "why", "type": "text", "prompt": "Why?"}]
SUPPORT_SLA_HOURS = 4.0  # the "support" touchpoint's own SLA; "order_delivered" has none (the workspace's 48 h)


def setup_queue(session: Session) -> None:
    """Two touchpoints (support with a 4 h SLA) and an NPS survey on each (made once)."""
    if session.scalar(select(Survey.id)) is not None:
        return
    f.touchpoint(session, name="Order delivered")
    f.touchpoint(session, key="support", stage="support", name="Support ticket closed")
    session.scalars(select(Touchpoint).where(Touchpoint.key == "support")).one().followup_sla_hours = \
        SUPPORT_SLA_HOURS
    f.survey(session, questions=QUESTIONS, recontact_days=0)
    f.survey(session, key="support_survey", touchpoint="support", questions=QUESTIONS, recontact_days=0,
             title="Your support request")
    session.flush()


def make_case(session: Session, contact: str, *, nps: int = 3, value: Any = None, touchpoint: str = "order_delivered",
              opened: datetime | None = None, text: str | None = None, email: str | None = None) -> Followup:
    """A detractor's case (NPS `nps`) from `contact`, whose attribute `value` is `value`, opened at `opened`."""
    setup_queue(session)
    fields: dict[str, Any] = {"attributes": {"value": value}} if value is not None else {}
    if email:
        fields["email"] = email
    outcome = f.event(session, f"e-{contact}", touchpoint=touchpoint, contact=contact, contact_fields=fields)
    response = submit_response(session, f.token_of(outcome.invitation.url),
                               [("nps", nps)] + ([("why", text)] if text else []))
    case = open_followup_if_needed(session, response, now=opened)
    assert case is not None
    return case


def make_cases(engine: Any, count: int, **kw: Any) -> list[int]:
    """`count` cases from contacts c0, c1, …; returns their ids in the order made."""
    with Session(engine) as session:
        ids = [make_case(session, f"c{n}", **kw).id for n in range(count)]
        session.commit()
    return ids
