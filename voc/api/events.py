"""Touchpoint events from the CRM."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlmodel import Session

from voc.api.deps import PresentedKey, scoped_key
from voc.api.errors import BODY_ERRORS, KEYED_ERRORS, error_responses
from voc.db import in_transaction
from voc.surveys.events import report_event
from voc.surveys.schemas import EventIn, EventOutcome

router = APIRouter(tags=["events"], responses=error_responses(KEYED_ERRORS))


@router.post("/events", status_code=202, response_model=EventOutcome,
             responses=error_responses(KEYED_ERRORS, BODY_ERRORS, {422: ("touchpoint_not_found",)}))
async def post_event(body: EventIn, request: Request, key: PresentedKey) -> EventOutcome:
    """Report a touchpoint event; voc answers whether it invited the contact, and why not.

    The same `event_id` again returns the first answer and changes nothing. A touchpoint voc does not know is
    refused with 422 `touchpoint_not_found` (create it first: `POST /api/v1/touchpoints`)."""
    # A CRM sends several events for each answer: one hop to the database threads checks the key and records
    # the event in one transaction (a session dependency, a key dependency and a sync handler took four).
    return await in_transaction(request.app.state.engine, _report, key, body)


def _report(session: Session, key: str, body: EventIn) -> EventOutcome:
    scoped_key(session, key, "events:write")
    return report_event(session, body)
