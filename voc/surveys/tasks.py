"""Jobs of the surveys domain: announcing invitations once their delay has passed, and what
follows a completed response."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from voc.analytics.rollups import record_response
from voc.db import utcnow
from voc.email.tasks import schedule_invitation_email
from voc.jobs.queue import enqueue, job_handler
from voc.sentiment.tasks import act_on_analysis, read_response
from voc.surveys.models import Invitation, InvitationStatus, Response, SurveyVersion
from voc.webhooks.outbox import publish_invitation_created, publish_response_completed

log = logging.getLogger(__name__)


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


def _load_responses(session: Session, payloads: list[dict[str, Any]]) -> list[Response | SurveyVersion]:
    """A batch's responses, then the survey versions they answered, in one read each: each job's session.get
    then finds its own in the session."""
    responses = list(session.scalars(select(Response).where(Response.id.in_([p["response_id"] for p in payloads]))))
    versions = {response.survey_version_id for response in responses}
    return [*responses, *session.scalars(select(SurveyVersion).where(SurveyVersion.id.in_(versions)))]


@job_handler("response.completed", together=True, preload=_load_responses)
def follow_completed_response(session: Session, payload: dict[str, Any]) -> None:
    """A response was stored: read its free text, count it (and the funnel steps its submit took),
    tell the CRM (response.completed, then response.analyzed and contact.experience_updated) and
    open a follow-up case if it needs one. One job and one rollup change per answer; a worker runs the
    answers' jobs it claimed at once in one transaction (voc.jobs.queue.run_together), so this may run
    again after a rollback, and acts only on the database.

    Should the analyser fail, the response is still counted and announced, and a response.analyse
    job of its own retries the reading (keeping the error, as every job does).

    A test response (from a test invitation) is read, so the explorer's "test responses" filter shows
    what voc made of it, and nothing else: it is not counted, no webhook tells the CRM (a write-back
    would put a dashboard user's test answer on a customer record) and no follow-up case is opened."""
    response = session.get(Response, payload["response_id"])
    if response is None:
        return
    if response.is_test:
        read_response(response)
        return
    try:
        read_response(response)
        analysed = True
    except Exception:
        log.exception("analysing response %s failed; a response.analyse job retries it", response.id)
        analysed = False
    publish_response_completed(session, response)
    if analysed:
        act_on_analysis(session, response)
    else:
        enqueue(session, "response.analyse", {"response_id": response.id})
    # Last: the rollup rows are the ones every answer's job writes (the day's cell and its totals), and a
    # transaction holds their locks until it commits; taken just before the commit, two workers wait on
    # each other for a moment, not for the whole job.
    record_response(session, response, funnel=tuple(payload.get("funnel", ())))
