"""One customer's story for a service agent: the current summary and every touchpoint, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from voc.explore.highlight import ResponseView, response_views
from voc.explore.service import rows_by_id
from voc.surveys.experience import contact_responses, experience_summary
from voc.surveys.models import Contact, Event, Invitation, Survey, Touchpoint

# At the same moment, the event came first, then the invitation, then the answer.
_ORDER = {"event": 0, "invitation": 1, "response": 2}


@dataclass
class TimelineEntry:
    kind: str  # event, invitation or response
    at: datetime | None
    touchpoint: Touchpoint | None
    survey: Survey | None = None
    event: Event | None = None
    invitation: Invitation | None = None
    response: ResponseView | None = None


@dataclass
class ContactStory:
    contact: Contact
    summary: dict[str, Any]
    timeline: list[TimelineEntry]


def contact_story(session: Session, contact: Contact, only: str | None = None) -> ContactStory:
    """The contact's experience summary and a single timeline of events, invitations and responses."""
    responses = contact_responses(session, contact)
    summary = experience_summary(session, contact, responses)
    events = list(session.scalars(select(Event).where(Event.contact_id == contact.id)))
    invitations = list(session.scalars(select(Invitation).where(Invitation.contact_id == contact.id)))
    touchpoints = rows_by_id(session, Touchpoint, {e.touchpoint_id for e in events}
                             | {i.touchpoint_id for i in invitations} | {r.touchpoint_id for r in responses})
    surveys = rows_by_id(session, Survey, {e.survey_id for e in events} | {i.survey_id for i in invitations})
    entries = [TimelineEntry("event", e.occurred_at, touchpoints.get(e.touchpoint_id), surveys.get(e.survey_id),
                             event=e) for e in events]
    entries += [TimelineEntry("invitation", i.invited_at, touchpoints.get(i.touchpoint_id), surveys.get(i.survey_id),
                              invitation=i) for i in invitations]
    entries += [TimelineEntry("response", v.response.completed_at, v.touchpoint, v.survey, response=v)
                for v in response_views(session, responses, only)]
    entries.sort(key=lambda e: (e.at is not None, e.at or datetime.min.replace(tzinfo=UTC), _ORDER[e.kind],
                                (e.event or e.invitation or (e.response.response if e.response else None)).id),
                 reverse=True)
    return ContactStory(contact, summary, entries)
