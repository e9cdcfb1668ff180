"""Jobs of the surveys domain: announcing invitations once their delay has passed, and what
follows a completed response."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from voc.analytics.rollups import record_funnel_step, record_response
from voc.db import utcnow
from voc.email.tasks import schedule_invitation_email
from voc.jobs.queue import enqueue, job_handler
from voc.surveys.models import Invitation, InvitationStatus, Response
from voc.webhooks.outbox import publish_invitation_created, publish_response_completed


@job_handler("invitation.announce")
def announce_invitation(session: Session, payload: dict[str, Any]) -> None:
    """The invitation's delay is over: it is now usable, and the CRM hears of it (invitation.created)."""
    invitation = session.get(Invitation, payload["invitation_id"])
    if invitation is None:
        return
    if invitation.status == InvitationStatus.scheduled:
        invitation.status = InvitationStatus.pending
        session.add(invitation)
    if invitation.expires_at > utcnow():  # a link announced after it expired would only mislead
        publish_invitation_created(session, invitation)
        if invitation.channel == "email" and invitation.emailed_at is None:
            schedule_invitation_email(session, invitation)


@job_handler("response.completed")
def follow_completed_response(session: Session, payload: dict[str, Any]) -> None:
    """A response was stored: count it (and the funnel steps its submit took), tell the CRM
    (response.completed) and have its free text read."""
    response = session.get(Response, payload["response_id"])
    if response is None:
        return
    record_response(session, response)
    record_funnel_step(session, tuple(payload.get("funnel", ())), response.survey_id, response.touchpoint_id,
                       response.completed_at or response.created_at)
    publish_response_completed(session, response)
    enqueue(session, "response.analyse", {"response_id": response.id})
