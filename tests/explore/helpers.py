"""Responses with known words, made through the real service functions and analysed by the worker."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from sqlmodel import Session

from tests import factories as f
from voc.db import utcnow
from voc.surveys import responses
from voc.surveys.models import Response

SUPPORT_QUESTIONS: list[dict[str, Any]] = [
    {"id": "csat", "type": "csat", "prompt": "How satisfied are you?", "required": True},
    {"id": "ces", "type": "ces", "prompt": "How easy was it?"},
    {"id": "what", "type": "text", "prompt": "What happened?"},
    {"id": "fix", "type": "text", "prompt": "What should we fix?"},
]
_numbers = itertools.count(1)


def setup_surveys(session: Session) -> None:
    """Two touchpoints, each with an active survey that may ask the same customer again at once."""
    f.touchpoint(session, "order_delivered", "delivery", name="Order delivered")
    f.touchpoint(session, "ticket_closed", "support", name="Ticket closed")
    f.survey(session, "post_delivery", "order_delivered", title="Delivery survey", recontact_days=0)
    f.survey(session, "support", "ticket_closed", questions=SUPPORT_QUESTIONS, title="Support survey",
             recontact_days=0)
    session.commit()


def respond(session: Session, answers: list[tuple[str, Any]], *, contact: str = "CUS-1",
            touchpoint: str = "order_delivered", days_ago: float = 1, crm: str | None = None,
            attributes: dict | None = None) -> Response:
    """One event, its invitation and the customer's answers, `days_ago` days ago (committed)."""
    answered = utcnow() - timedelta(days=days_ago)
    contact_fields: dict[str, Any] = {"attributes": attributes or {}}
    if crm:
        contact_fields["crm"] = crm
    outcome = f.event(session, event_id=f"evt-{next(_numbers)}", touchpoint=touchpoint, contact=contact,
                      occurred_at=answered - timedelta(minutes=30), contact_fields=contact_fields)
    assert outcome.invitation is not None, outcome
    response = responses.submit_response(session, f.token_of(outcome.invitation.url), answers, now=answered)
    session.commit()
    return response
