"""Jobs of the surveys domain: announcing invitations once their delay has passed, and what
follows a completed response."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from voc.jobs.queue import enqueue, job_handler
from voc.surveys.models import Invitation, InvitationStatus, Response


@job_handler("invitation.announce")
def announce_invitation(session: Session, payload: dict[str, Any]) -> None:
    """The invitation's delay is over: it is now usable."""
    invitation = session.get(Invitation, payload["invitation_id"])
    if invitation is None:
        return
    if invitation.status == InvitationStatus.scheduled:
        invitation.status = InvitationStatus.pending
        session.add(invitation)


@job_handler("response.completed")
def follow_completed_response(session: Session, payload: dict[str, Any]) -> None:
    """A response was stored: have its free text read."""
    response = session.get(Response, payload["response_id"])
    if response is None:
        return
    enqueue(session, "response.analyse", {"response_id": response.id})
