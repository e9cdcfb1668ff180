"""Follow-up cases: opening them from the rules, listing them with what the customer said, working them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from voc.auth.models import User
from voc.cursors import keyset_page, pack_moment_cursor, unpack_moment_cursor
from voc.db import utcnow
from voc.errors import Invalid, NotFound
from voc.followups.models import Followup, FollowupNote, FollowupStatus
from voc.followups.rules import followup_reason
from voc.ids import is_row_id, parse_row_id
from voc.surveys.models import Answer, Contact, Response, Survey, SurveyVersion, Touchpoint
from voc.surveys.responses import contact_ref
from voc.webhooks.outbox import publish

MAX_NOTE = 5000
PAGE_SIZE = 50


def followup_created_data(followup: Followup, contact: Contact) -> dict[str, Any]:
    """The `followup.created` event data, shaped like its sample (ids as strings)."""
    return {"contact": contact_ref(contact),
            "followup": {"id": str(followup.id), "reason": followup.reason,
                         "response_id": str(followup.response_id), "status": followup.status}}


def open_followup_if_needed(session: Session, response: Response) -> Followup | None:
    """Open a case for a response that the rules flag (once per response) and publish followup.created."""
    reason = followup_reason(response)
    if reason is None:
        return None
    existing = session.scalar(select(Followup).where(Followup.response_id == response.id))
    if existing is not None:
        return existing
    followup = Followup(response_id=response.id, contact_id=response.contact_id, reason=reason)
    try:
        with session.begin_nested():  # the same job run twice at once: the unique response_id decides
            session.add(followup)
            session.flush()
    except IntegrityError:
        return session.scalars(select(Followup).where(Followup.response_id == response.id)).one()
    contact = session.get(Contact, response.contact_id)
    publish(session, "followup.created", followup_created_data(followup, contact),
            dedupe_key=f"followup.created:{response.id}")
    return followup


@dataclass
class FollowupFilters:
    status: str | None = None
    assignee: str | None = None  # a user id, "me" or "none"
    survey: str | None = None

    def to_params(self) -> dict[str, str]:
        """The filters that are set, as query parameters (a page link keeps them)."""
        return {k: v for k, v in (("status", self.status), ("assignee", self.assignee), ("survey", self.survey))
                if v}


@dataclass
class FollowupCase:
    """A case with everything its block on the page shows, loaded in a few queries."""

    followup: Followup
    response: Response
    contact: Contact
    survey: Survey | None
    touchpoint: Touchpoint | None
    answers: list[tuple[str, Any]] = field(default_factory=list)  # (prompt, value)
    notes: list[tuple[FollowupNote, str | None]] = field(default_factory=list)  # (note, author e-mail)
    assignee: User | None = None


def parse_filters(status: str | None, assignee: str | None, survey: str | None) -> FollowupFilters:
    """Filters from the query string; an unknown value is ignored rather than refused."""
    return FollowupFilters(status=status if status in FollowupStatus.__members__ else None,
                           assignee=assignee if assignee in ("me", "none") or parse_row_id(assignee) else None,
                           survey=survey or None)


@dataclass
class FollowupPage:
    """One page of cases, newest first, the cursor of the next page (None on the last) and how many match."""

    items: list[FollowupCase]
    next_cursor: str | None
    total: int


def encode_cursor(followup: Followup) -> str:
    """Where a page ended: the last case's opening time and id."""
    return pack_moment_cursor(followup.created_at, followup.id)


def _filtered(filters: FollowupFilters, user: User) -> Select:
    query = select(Followup)
    if filters.status:
        query = query.where(Followup.status == filters.status)
    if filters.assignee == "me":
        query = query.where(Followup.assignee_id == user.id)
    elif filters.assignee == "none":
        query = query.where(Followup.assignee_id.is_(None))
    elif filters.assignee:
        query = query.where(Followup.assignee_id == int(filters.assignee))
    if filters.survey:
        query = query.join(Response, Response.id == Followup.response_id).join(
            Survey, Survey.id == Response.survey_id).where(Survey.key == filters.survey)
    return query


def list_followups(session: Session, filters: FollowupFilters, user: User, *, cursor: str | None = None,
                   limit: int | None = None) -> FollowupPage:
    """One page of the cases matching the filters, newest first, after `cursor`; and how many match in all."""
    limit = limit or PAGE_SIZE
    query = _filtered(filters, user)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if cursor:
        when, ident = unpack_moment_cursor(cursor)
        query = query.where(or_(Followup.created_at < when, and_(Followup.created_at == when, Followup.id < ident)))
    rows = list(session.scalars(query.order_by(Followup.created_at.desc(), Followup.id.desc()).limit(limit + 1)))
    page, next_cursor = keyset_page(rows, limit, encode_cursor)
    return FollowupPage(items=load_cases(session, page), next_cursor=next_cursor, total=total)


def _by_id(session: Session, model: Any, ids: set[int | None]) -> dict[int, Any]:
    ids = {i for i in ids if i is not None}
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)))} if ids else {}


def load_cases(session: Session, rows: list[Followup]) -> list[FollowupCase]:
    """Cases with their response, contact, survey, answers (with prompts), notes and assignee."""
    if not rows:
        return []
    responses = _by_id(session, Response, {f.response_id for f in rows})
    contacts = _by_id(session, Contact, {f.contact_id for f in rows})
    surveys = _by_id(session, Survey, {r.survey_id for r in responses.values()})
    touchpoints = _by_id(session, Touchpoint, {r.touchpoint_id for r in responses.values()})
    versions = _by_id(session, SurveyVersion, {r.survey_version_id for r in responses.values()})
    answers: dict[int, list[Answer]] = defaultdict(list)
    for answer in session.scalars(select(Answer).where(Answer.response_id.in_(list(responses)))
                                  .order_by(Answer.id)):
        answers[answer.response_id].append(answer)
    notes: dict[int, list[FollowupNote]] = defaultdict(list)
    for note in session.scalars(select(FollowupNote).where(FollowupNote.followup_id.in_([f.id for f in rows]))
                                .order_by(FollowupNote.created_at, FollowupNote.id)):
        notes[note.followup_id].append(note)
    users = _by_id(session, User, {f.assignee_id for f in rows}
                   | {n.author_id for group in notes.values() for n in group})
    cases = []
    for followup in rows:
        response = responses[followup.response_id]
        version = versions.get(response.survey_version_id)
        prompts = {q["id"]: q["prompt"] for q in (version.questions if version else [])}
        cases.append(FollowupCase(
            followup=followup, response=response, contact=contacts[followup.contact_id],
            survey=surveys.get(response.survey_id), touchpoint=touchpoints.get(response.touchpoint_id),
            answers=[(prompts.get(a.question_id, a.question_id), a.value) for a in answers[response.id]],
            notes=[(n, users[n.author_id].email if n.author_id in users else None) for n in notes[followup.id]],
            assignee=users.get(followup.assignee_id)))
    return cases


def get_case(session: Session, followup_id: int) -> FollowupCase:
    followup = session.get(Followup, followup_id)
    if followup is None:
        raise NotFound(f"no follow-up {followup_id}", code="followup_not_found")
    return load_cases(session, [followup])[0]


def _get(session: Session, followup_id: int) -> Followup:
    followup = session.get(Followup, followup_id)
    if followup is None:
        raise NotFound(f"no follow-up {followup_id}", code="followup_not_found")
    return followup


def assign_followup(session: Session, followup_id: int, assignee_id: int | None) -> Followup:
    """Give a case to a user (or to nobody)."""
    followup = _get(session, followup_id)
    if assignee_id is not None and (not is_row_id(assignee_id) or session.get(User, assignee_id) is None):
        raise Invalid("no such user", code="user_not_found")
    followup.assignee_id, followup.updated_at = assignee_id, utcnow()
    session.add(followup)
    session.flush()
    return followup


def set_followup_status(session: Session, followup_id: int, status: str) -> Followup:
    """Move a case to open, in_progress or resolved (resolving stamps resolved_at, reopening clears it)."""
    if status not in FollowupStatus.__members__:
        raise Invalid(f"status must be one of {', '.join(FollowupStatus)}", code="invalid_status")
    followup = _get(session, followup_id)
    now = utcnow()
    if status != followup.status:
        followup.status = status
        followup.resolved_at = now if status == FollowupStatus.resolved else None
    followup.updated_at = now
    session.add(followup)
    session.flush()
    return followup


def add_note(session: Session, followup_id: int, author: User, text: str) -> FollowupNote:
    """Add a note to a case."""
    text = text.strip()
    if not text:
        raise Invalid("a note needs some text", code="note_empty")
    if len(text) > MAX_NOTE:
        raise Invalid(f"a note has at most {MAX_NOTE} characters", code="note_too_long")
    followup = _get(session, followup_id)
    note = FollowupNote(followup_id=followup.id, author_id=author.id, text=text)
    followup.updated_at = utcnow()
    session.add_all([note, followup])
    session.flush()
    return note
