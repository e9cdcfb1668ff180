"""Touchpoint events from the CRM."""

from __future__ import annotations

from fastapi import APIRouter

from voc.api.deps import EventsWriter, SessionDep
from voc.api.errors import BODY_ERRORS, KEYED_ERRORS, error_responses
from voc.surveys.events import report_event
from voc.surveys.schemas import EventIn, EventOutcome

router = APIRouter(tags=["events"], responses=error_responses(KEYED_ERRORS))


@router.post("/events", status_code=202, response_model=EventOutcome,
             responses=error_responses(KEYED_ERRORS, BODY_ERRORS, {422: ("touchpoint_not_found",)}))
def post_event(body: EventIn, session: SessionDep, _key: EventsWriter) -> EventOutcome:
    """Report a touchpoint event; voc answers whether it invited the contact, and why not.

    The same `event_id` again returns the first answer and changes nothing. A touchpoint voc does not know is
    refused with 422 `touchpoint_not_found` (create it first: `POST /api/v1/touchpoints`)."""
    return report_event(session, body)
