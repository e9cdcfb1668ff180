"""Follow-up cases: opening them from the rules (with their priority and due time), and working them: assigning
(one or many, the assignee told by e-mail), moving, resolving (one or many, with an optional note), notes.
Listing them is voc.followups.queue."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from voc.auth.models import Role, User
from voc.config import get_settings
from voc.db import utcnow
from voc.errors import Invalid, NotFound
from voc.followups import priority
from voc.followups.mail import schedule_assignment_email
from voc.followups.models import Followup, FollowupNote, FollowupStatus
from voc.followups.rules import followup_reason, response_compound
from voc.ids import is_row_id, parse_row_id
from voc.surveys.models import Contact, Response, Touchpoint
from voc.surveys.responses import contact_ref
from voc.webhooks.outbox import publish

MAX_NOTE = 5000
MAX_BULK = 500  # cases one bulk action may name (a page shows 50)
UNRESOLVED = (FollowupStatus.open.value, FollowupStatus.in_progress.value)


def followup_created_data(followup: Followup, contact: Contact) -> dict[str, Any]:
    """The `followup.created` event data, shaped like its sample (ids as strings)."""
    return {"contact": contact_ref(contact),
            "followup": {"id": str(followup.id), "reason": followup.reason,
                         "response_id": str(followup.response_id), "status": followup.status}}


def open_followup_if_needed(session: Session, response: Response, now: datetime | None = None) -> Followup | None:
    """Open a case for a response that the rules flag (once per response), ranked and given its due time
    (voc.followups.priority), and publish followup.created. A test response opens none."""
    if response.is_test:
        return None
    reason = followup_reason(response)
    if reason is None:
        return None
    existing = session.scalar(select(Followup).where(Followup.response_id == response.id))
    if existing is not None:
        return existing
    contact = session.get(Contact, response.contact_id)
    touchpoint = session.get(Touchpoint, response.touchpoint_id) if response.touchpoint_id else None
    opened = now or utcnow()
    followup = Followup(response_id=response.id, contact_id=response.contact_id, reason=reason,
                        touchpoint_id=response.touchpoint_id, created_at=opened, updated_at=opened,
                        priority_key=priority.priority_key(case_points(response, contact), opened),
                        due_at=priority.due_at(opened, sla_hours(touchpoint)))
    try:
        with session.begin_nested():  # the same job run twice at once: the unique response_id decides
            session.add(followup)
            session.flush()
    except IntegrityError:
        return session.scalars(select(Followup).where(Followup.response_id == response.id)).one()
    publish(session, "followup.created", followup_created_data(followup, contact),
            dedupe_key=f"followup.created:{response.id}")
    return followup


def case_points(response: Response, contact: Contact | None) -> float:
    """A new case's priority before age: its score's badness and its customer's value (voc.followups.priority)."""
    points = priority.SEVERITY_POINTS * priority.badness(
        {"nps": response.nps, "csat": response.csat, "ces": response.ces}, response_compound(response))
    value = priority.customer_value(contact.attributes if contact else None, get_settings().followup_value_attribute)
    return points + priority.value_points(value)


def sla_hours(touchpoint: Touchpoint | None) -> float:
    """Hours to resolve a case from this touchpoint: its own SLA, else the workspace's."""
    if touchpoint is not None and touchpoint.followup_sla_hours:
        return touchpoint.followup_sla_hours
    return get_settings().followup_sla_hours


def _get(session: Session, followup_id: int) -> Followup:
    followup = session.get(Followup, followup_id) if is_row_id(followup_id) else None
    if followup is None:
        raise NotFound(f"no follow-up {followup_id}", code="followup_not_found")
    return followup


def parse_case_ids(values: Iterable[str]) -> list[int]:
    """Case ids from a form (each once, in order): 422 `invalid_followup_id` for one that is not a number,
    404 `followup_not_found` for one no case can have, 422 `no_cases_selected` / `too_many_cases`."""
    ids: dict[int, None] = {}
    for text in values:
        text = text.strip()
        if not (text.isascii() and text.isdigit()):
            raise Invalid(f"not a case number: {text[:40]!r}", code="invalid_followup_id")
        ident = parse_row_id(text)
        if ident is None:
            raise NotFound(f"no follow-up {text[:40]}", code="followup_not_found")
        ids[ident] = None
    if not ids:
        raise Invalid("select at least one case", code="no_cases_selected")
    if len(ids) > MAX_BULK:
        raise Invalid(f"at most {MAX_BULK} cases at once", code="too_many_cases")
    return list(ids)


def _get_many(session: Session, ids: list[int]) -> list[Followup]:
    """The cases with these ids, or 404 `followup_not_found` naming the first unknown one (nothing changed)."""
    found = {f.id: f for f in session.scalars(select(Followup).where(Followup.id.in_(ids)))}
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"no follow-up {missing[0]}", code="followup_not_found")
    return [found[i] for i in ids]


def parse_assignee(text: str, actor: User) -> int | None:
    """The assignee a form names: "" for nobody, "me", or a user id (else 422 `user_not_found`)."""
    text = text.strip()
    if not text:
        return None
    if text == "me":
        return actor.id
    ident = parse_row_id(text)
    if ident is None:
        raise Invalid("no such user", code="user_not_found")
    return ident


def _check_assignee(session: Session, assignee_id: int | None) -> User | None:
    if assignee_id is None:
        return None
    user = session.get(User, assignee_id) if is_row_id(assignee_id) else None
    if user is None:
        raise Invalid("no such user", code="user_not_found")
    if user.disabled_at is not None or Role(user.role).rank < Role.analyst.rank:
        raise Invalid(f"{user.email} cannot work follow-ups (disabled, or a viewer)", code="assignee_not_allowed")
    return user


def assign_followups(session: Session, followup_ids: list[int], assignee_id: int | None, actor: User) -> int:
    """Give cases to a user (or to nobody); the assignee is e-mailed about the cases that changed hands,
    unless they assigned them to themselves. Returns how many changed."""
    followups = _get_many(session, followup_ids)
    assignee = _check_assignee(session, assignee_id)
    now, changed = utcnow(), []
    for followup in followups:
        if followup.assignee_id != assignee_id:
            followup.assignee_id, followup.updated_at = assignee_id, now
            changed.append(followup.id)
    session.flush()
    if assignee is not None and changed and assignee.id != actor.id:
        schedule_assignment_email(session, assignee.id, changed, actor.email)
    return len(changed)


def assign_followup(session: Session, followup_id: int, assignee_id: int | None, actor: User) -> Followup:
    """Give a case to a user (or to nobody), e-mailing the assignee."""
    followup = _get(session, followup_id)
    assign_followups(session, [followup_id], assignee_id, actor)
    return followup


def set_followup_status(session: Session, followup_id: int, status: str) -> Followup:
    """Move a case to open, in_progress or resolved (resolving stamps resolved_at, reopening clears it)."""
    if status not in FollowupStatus.__members__:
        raise Invalid(f"status must be one of {', '.join(FollowupStatus)}", code="invalid_status")
    followup = _get(session, followup_id)
    _set_status(followup, status, utcnow())
    session.flush()
    return followup


def _set_status(followup: Followup, status: str, now: datetime) -> None:
    if status != followup.status:
        followup.status = status
        followup.resolved_at = now if status == FollowupStatus.resolved else None
    followup.updated_at = now


def resolve_followups(session: Session, followup_ids: list[int], author: User, note: str = "") -> int:
    """Resolve cases from any open state in one step, each with the note when one is given; cases already
    resolved are left as they are. Returns how many were resolved."""
    text = clean_note(note, required=False)
    followups = _get_many(session, followup_ids)
    now, resolved = utcnow(), 0
    for followup in followups:
        if followup.status in UNRESOLVED:
            _set_status(followup, FollowupStatus.resolved, now)
            if text:
                session.add(FollowupNote(followup_id=followup.id, author_id=author.id, text=text, created_at=now))
            resolved += 1
    session.flush()
    return resolved


def resolve_followup(session: Session, followup_id: int, author: User, note: str = "") -> Followup:
    """Resolve one case from any open state, with an optional note (a resolved case stays as it is)."""
    followup = _get(session, followup_id)
    resolve_followups(session, [followup_id], author, note)
    return followup


def clean_note(text: str, *, required: bool = True) -> str:
    """A note's text, trimmed; 422 `note_empty`, `note_too_long` or `invalid_text` (NUL, lone surrogates)."""
    text = text.strip()
    if required and not text:
        raise Invalid("a note needs some text", code="note_empty")
    if len(text) > MAX_NOTE:
        raise Invalid(f"a note has at most {MAX_NOTE} characters", code="note_too_long")
    if "\x00" in text or any("\ud800" <= ch <= "\udfff" for ch in text):
        raise Invalid("a note cannot hold a NUL character or half a surrogate pair", code="invalid_text")
    return text


def add_note(session: Session, followup_id: int, author: User, text: str) -> FollowupNote:
    """Add a note to a case."""
    text = clean_note(text)
    followup = _get(session, followup_id)
    note = FollowupNote(followup_id=followup.id, author_id=author.id, text=text)
    followup.updated_at = utcnow()
    session.add_all([note, followup])
    session.flush()
    return note
