"""Touchpoint events from the CRM."""

from __future__ import annotations

from fastapi import APIRouter

from voc.api.deps import EventsWriter, SessionDep
from voc.surveys.events import report_event
from voc.surveys.schemas import EventIn, EventOutcome

router = APIRouter(tags=["events"])


@router.post("/events", status_code=202, response_model=EventOutcome)
def post_event(body: EventIn, session: SessionDep, _key: EventsWriter) -> EventOutcome:
    """Report a touchpoint event; voc answers whether it invited the contact, and why not."""
    return report_event(session, body)
