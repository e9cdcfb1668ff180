"""Opening an invitation, storing exactly one response for it, and reading responses back."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from voc.cursors import pack_cursor, unpack_cursor
from voc.db import utcnow
from voc.errors import Conflict, Gone, Invalid, NotFound, VocError
from voc.jobs.queue import enqueue
from voc.surveys import answers as answer_rules
from voc.surveys.models import (
    Answer,
    Contact,
    Event,
    Invitation,
    InvitationStatus,
    Response,
    Survey,
    SurveyStatus,
    SurveyVersion,
    Touchpoint,
)
from voc.surveys.schemas import AnswerOut, ResponsePage, ResponsePublic
from voc.surveys.tokens import hash_token


class TooEarly(VocError):
    status_code = 425
    code = "invitation_not_open"


@dataclass
class OpenInvitation:
    """Everything the survey page needs about one invitation."""

    invitation: Invitation
    survey: Survey
    version: SurveyVersion
    contact: Contact
    prefilled: dict[str, Any]

    @property
    def questions(self) -> list[dict]:
        """The questions to ask: those the CRM already answered are left out."""
        return [q for q in self.version.questions if q["id"] not in self.prefilled]


def load_invitation(session: Session, token: str, now: datetime | None = None) -> OpenInvitation:
    """The invitation behind a token, if it can still be answered (404, 409, 410, 425 otherwise)."""
    now = now or utcnow()
    # One round trip for the invitation and what it points at: this is the hot path of every answer.
    row = session.execute(
        select(Invitation, Survey, Contact, Event.attributes)
        .join(Survey, Survey.id == Invitation.survey_id)
        .join(Contact, Contact.id == Invitation.contact_id)
        .outerjoin(Event, Event.id == Invitation.event_id)
        .where(Invitation.token_hash == hash_token(token))
    ).first()
    if row is None:
        raise NotFound("This survey link is not valid.", code="token_invalid")
    invitation, survey, contact, event_attributes = row
    if invitation.completed_at is not None:
        raise Conflict("This survey has already been answered. Thank you!", code="already_answered")
    if now >= invitation.expires_at:
        raise Gone("This survey link has expired.", code="token_expired")
    if now < invitation.invited_at:
        raise TooEarly("This survey is not open yet.")
    if survey.status != SurveyStatus.active:
        raise Conflict("This survey is closed.", code="survey_inactive")
    version = session.get(SurveyVersion, invitation.survey_version_id)
    known = {**contact.attributes, **(event_attributes or {})}
    prefilled = answer_rules.prefilled_answers(version.questions, known)
    return OpenInvitation(invitation, survey, version, contact, prefilled)


def mark_opened(session: Session, opened: OpenInvitation, now: datetime | None = None) -> None:
    """Record the first time the customer opened the survey."""
    invitation = opened.invitation
    if invitation.opened_at is None:
        invitation.opened_at = now or utcnow()
        invitation.status = InvitationStatus.opened
        session.add(invitation)
        session.flush()


def submit_response(session: Session, token: str, given: list[tuple[str, Any]],
                    now: datetime | None = None) -> Response:
    """Validate and store the answers; a second submit for the same invitation gets 409."""
    now = now or utcnow()
    opened = load_invitation(session, token, now)
    typed = answer_rules.validate_answers(opened.version.questions, given, opened.prefilled)
    if not any(a.source == "customer" for a in typed):
        raise Invalid("Please answer at least one question.", code="answer_required")
    # The conditional update is the lock: of two racing submits, one changes the row, one sees 0 rows.
    claimed = session.execute(
        update(Invitation)
        .where(Invitation.id == opened.invitation.id, Invitation.completed_at.is_(None))
        .values(status=InvitationStatus.completed, completed_at=now,
                opened_at=opened.invitation.opened_at or now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise Conflict("This survey has already been answered. Thank you!", code="already_answered")
    invitation = opened.invitation
    response = Response(
        invitation_id=invitation.id, survey_id=invitation.survey_id,
        survey_version_id=invitation.survey_version_id, touchpoint_id=invitation.touchpoint_id,
        contact_id=invitation.contact_id, status="completed",
        started_at=invitation.opened_at or now, completed_at=now, created_at=now,
        comment="\n\n".join(a.text for a in typed if a.type == "text" and a.text and a.text.strip()) or None,
    )
    for answer in typed:
        if answer.type in ("nps", "csat", "ces") and getattr(response, answer.type) is None:
            setattr(response, answer.type, int(answer.number))
    session.add(response)
    session.flush()
    session.add_all(Answer(response_id=response.id, question_id=a.question_id, type=a.type, number=a.number,
                           text=a.text, choices=a.choices, source=a.source) for a in typed)
    session.flush()
    enqueue(session, "response.completed", {"response_id": response.id})
    return response


def get_response(session: Session, response_id: int) -> ResponsePublic:
    response = session.get(Response, response_id)
    if response is None:
        raise NotFound(f"no response {response_id}", code="response_not_found")
    return responses_public(session, [response])[0]


def encode_cursor(response_id: int) -> str:
    return pack_cursor("r", response_id)


def decode_cursor(cursor: str) -> int:
    kind, ident = unpack_cursor(cursor, 2)
    if kind != "r" or not ident.isdigit():
        raise Invalid("the cursor is not one voc gave out", code="invalid_cursor")
    return int(ident)


def list_responses(session: Session, *, survey: str | None = None, touchpoint: str | None = None,
                   contact: str | None = None, since: datetime | None = None, until: datetime | None = None,
                   cursor: str | None = None, limit: int = 50) -> ResponsePage:
    """Responses, newest first, filtered; `next_cursor` continues where this page ended."""
    query = select(Response).order_by(Response.id.desc()).limit(limit + 1)
    if survey:
        query = query.join(Survey, Survey.id == Response.survey_id).where(Survey.key == survey)
    if touchpoint:
        query = query.join(Touchpoint, Touchpoint.id == Response.touchpoint_id).where(Touchpoint.key == touchpoint)
    if contact:
        query = query.join(Contact, Contact.id == Response.contact_id).where(Contact.external_id == contact)
    if since:
        query = query.where(Response.completed_at >= since)
    if until:
        query = query.where(Response.completed_at < until)
    if cursor:
        query = query.where(Response.id < decode_cursor(cursor))
    rows = list(session.scalars(query))
    page, more = rows[:limit], len(rows) > limit
    return ResponsePage(items=responses_public(session, page),
                        next_cursor=encode_cursor(page[-1].id) if more and page else None)


def responses_public(session: Session, responses: list[Response]) -> list[ResponsePublic]:
    """The API shape of several responses, loading what they refer to in a few queries (no N+1)."""
    if not responses:
        return []
    ids = [r.id for r in responses]
    answers: dict[int, list[Answer]] = defaultdict(list)
    for answer in session.scalars(select(Answer).where(Answer.response_id.in_(ids)).order_by(Answer.id)):
        answers[answer.response_id].append(answer)

    def by_id(model: Any, wanted: set[int | None]) -> dict[int, Any]:
        wanted.discard(None)
        return {row.id: row for row in session.scalars(select(model).where(model.id.in_(wanted)))} if wanted else {}

    surveys = by_id(Survey, {r.survey_id for r in responses})
    versions = by_id(SurveyVersion, {r.survey_version_id for r in responses})
    touchpoints = by_id(Touchpoint, {r.touchpoint_id for r in responses})
    contacts = by_id(Contact, {r.contact_id for r in responses})
    return [
        ResponsePublic(
            id=r.id, status=r.status, survey=surveys[r.survey_id].key,
            survey_version=versions[r.survey_version_id].version,
            touchpoint=touchpoints[r.touchpoint_id].key if r.touchpoint_id else None,
            contact=contact_ref(contacts[r.contact_id]),
            answers=[AnswerOut(question_id=a.question_id, type=a.type, value=a.value, source=a.source)
                     for a in answers[r.id]],
            scores={"nps": r.nps, "csat": r.csat, "ces": r.ces},
            started_at=r.started_at, completed_at=r.completed_at, analysis=r.analysis,
        )
        for r in responses
    ]


def contact_ref(contact: Contact) -> dict[str, Any]:
    """How every payload names a customer, so the CRM can find its record."""
    return {"external_id": contact.external_id, "crm": contact.crm}
