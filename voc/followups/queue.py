"""The follow-up queue: cases filtered (status, owner, touchpoint, survey, overdue), sorted by priority, due
time or age, 50 a page by keyset, with counts per status; each case loaded with what its block shows."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select
from sqlmodel import Session

from voc.auth.models import User
from voc.config import get_settings
from voc.cursors import pack_cursor, unpack_cursor
from voc.db import utcnow
from voc.errors import Invalid, NotFound
from voc.followups.models import Followup, FollowupNote, FollowupStatus
from voc.followups.priority import customer_value, priority_at
from voc.ids import parse_row_id
from voc.surveys.models import Answer, Contact, Response, Survey, SurveyVersion, Touchpoint

PAGE_SIZE = 50
UNRESOLVED = (FollowupStatus.open.value, FollowupStatus.in_progress.value)
# The status views: the queue proper (unresolved, the default), one status, or every case.
STATUS_VIEWS = ("unresolved", *FollowupStatus.__members__, "all")
# Sort name → (cursor letter, column, descending): priority (highest first), due (soonest first), newest.
SORTS: dict[str, tuple[str, Any, bool]] = {"priority": ("p", Followup.priority_key, True),
                                           "due": ("d", Followup.due_at, False),
                                           "newest": ("n", Followup.created_at, True)}
DEFAULT_SORT = "priority"


def queue_now() -> datetime:
    """The queue's clock (what "overdue" and a case's age are measured against; a seam for tests)."""
    return utcnow()


@dataclass
class QueueFilters:
    status: str = "unresolved"
    assignee: str | None = None  # a user id, "me" or "none"
    touchpoint: str | None = None  # a touchpoint key
    survey: str | None = None  # a survey key
    overdue: bool = False
    sort: str = DEFAULT_SORT

    def to_params(self, **changes: Any) -> dict[str, str]:
        """The filters that differ from the defaults, as query parameters (a link keeps them)."""
        values = {**self.__dict__, **changes}
        params = {"status": values["status"] if values["status"] != "unresolved" else None,
                  "assignee": values["assignee"], "touchpoint": values["touchpoint"], "survey": values["survey"],
                  "overdue": "1" if values["overdue"] else None,
                  "sort": values["sort"] if values["sort"] != DEFAULT_SORT else None}
        return {k: v for k, v in params.items() if v}


def parse_filters(status: str | None = None, assignee: str | None = None, touchpoint: str | None = None,
                  survey: str | None = None, overdue: str | None = None, sort: str | None = None) -> QueueFilters:
    """Filters from the query string; an unknown value is ignored rather than refused (a stale link still works)."""
    return QueueFilters(status=status if status in STATUS_VIEWS else "unresolved",
                        assignee=assignee if assignee in ("me", "none") or parse_row_id(assignee) else None,
                        touchpoint=touchpoint[:64] if touchpoint else None, survey=survey[:64] if survey else None,
                        overdue=overdue in ("1", "true", "on"), sort=sort if sort in SORTS else DEFAULT_SORT)


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
    priority: int = 0  # now, rounded
    overdue: bool = False
    value: float | None = None  # the contact's customer-value attribute
    now: datetime | None = None  # what age and due time are measured against

    @property
    def age(self) -> str:
        """How long the case has been open (or was, until resolved), as "3 d" or "5 h"."""
        until = self.followup.resolved_at or self.now or queue_now()
        return _span(until - self.followup.created_at)

    @property
    def due_in(self) -> str:
        """Time to the due time ("in 5 h") or past it ("5 h ago")."""
        left = self.followup.due_at - (self.now or queue_now())
        return f"in {_span(left)}" if left.total_seconds() >= 0 else f"{_span(-left)} ago"

    @property
    def scores(self) -> list[tuple[str, int]]:
        """The response's scores, as ("NPS", 3) pairs."""
        return [(label, score) for label, score in (("NPS", self.response.nps), ("CSAT", self.response.csat),
                                                    ("CES", self.response.ces)) if score is not None]


@dataclass
class QueueCounts:
    """How many cases each status holds, and how many of them are overdue (owner, touchpoint and survey
    filters applied; not the status and overdue filters, so the tabs can show every figure)."""

    by_status: dict[str, int]
    overdue_by_status: dict[str, int]

    @property
    def unresolved(self) -> int:
        return sum(self.by_status[s] for s in UNRESOLVED)

    @property
    def overdue(self) -> int:
        return sum(self.overdue_by_status[s] for s in UNRESOLVED)

    @property
    def all(self) -> int:
        return sum(self.by_status.values())

    def matching(self, filters: QueueFilters) -> int:
        """How many cases the filters select."""
        statuses = {"unresolved": UNRESOLVED, "all": tuple(FollowupStatus)}.get(filters.status, (filters.status,))
        if filters.overdue:
            return sum(self.overdue_by_status[s] for s in statuses if s in UNRESOLVED)
        return sum(self.by_status[s] for s in statuses)


@dataclass
class QueuePage:
    """One page of cases, the cursor of the next page (None on the last), where the page starts (0-based)
    and the counts."""

    items: list[FollowupCase]
    next_cursor: str | None
    start: int
    counts: QueueCounts
    total: int


def _span(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 1:
        return f"{max(int(hours * 60), 0)} min"
    return f"{int(hours)} h" if hours < 48 else f"{int(hours // 24)} d"


def _scoped(query: Select, filters: QueueFilters, user: User) -> Select:
    """The owner, touchpoint and survey filters."""
    if filters.assignee == "me":
        query = query.where(Followup.assignee_id == user.id)
    elif filters.assignee == "none":
        query = query.where(Followup.assignee_id.is_(None))
    elif filters.assignee:
        query = query.where(Followup.assignee_id == int(filters.assignee))
    if filters.touchpoint:
        query = query.where(Followup.touchpoint_id == select(Touchpoint.id)
                            .where(Touchpoint.key == filters.touchpoint).scalar_subquery())
    if filters.survey:
        survey_id = select(Survey.id).where(Survey.key == filters.survey).scalar_subquery()
        query = query.where(Followup.response_id.in_(select(Response.id).where(Response.survey_id == survey_id)))
    return query


def _filtered(filters: QueueFilters, user: User, now: datetime) -> Select:
    query = _scoped(select(Followup), filters, user)
    if filters.status == "unresolved" or filters.overdue:
        query = query.where(Followup.status.in_(UNRESOLVED))
    if filters.status not in ("unresolved", "all"):
        query = query.where(Followup.status == filters.status)
    if filters.overdue:
        query = query.where(Followup.due_at < now)
    return query


def count_cases(session: Session, filters: QueueFilters, user: User, now: datetime) -> QueueCounts:
    """Cases per status and overdue per status, in one grouped query."""
    late = func.sum(case((and_(Followup.status.in_(UNRESOLVED), Followup.due_at < now), 1), else_=0))
    query = _scoped(select(Followup.status, func.count(), late), filters, user).group_by(Followup.status)
    by_status, overdue = dict.fromkeys(FollowupStatus, 0), dict.fromkeys(FollowupStatus, 0)
    for status, count, late_count in session.execute(query):
        by_status[status], overdue[status] = count, int(late_count or 0)
    return QueueCounts(by_status={str(k): v for k, v in by_status.items()},
                       overdue_by_status={str(k): v for k, v in overdue.items()})


def encode_cursor(sort: str, followup: Followup, position: int) -> str:
    """Where a page ended: the sort, the last case's sort value and id, and how many cases came before."""
    letter, column, _ = SORTS[sort]
    value = getattr(followup, column.key)
    return pack_cursor(letter, repr(value) if sort == "priority" else value.isoformat(), followup.id, position)


def decode_cursor(cursor: str, sort: str) -> tuple[Any, int, int]:
    """The (sort value, id, position) a cursor of this sort stands for, or Invalid(invalid_cursor)."""
    letter, value, ident, position = unpack_cursor(cursor, 4)
    ident_value = parse_row_id(ident)
    try:
        if letter != SORTS[sort][0] or ident_value is None or not (position.isascii() and position.isdigit()) \
                or len(position) > 9:
            raise ValueError(cursor)
        if sort == "priority":
            key: Any = float(value)
            if key != key or key in (float("inf"), float("-inf")):
                raise ValueError(value)
        else:
            key = datetime.fromisoformat(value)
            if key.tzinfo is None:
                raise ValueError(value)
    except ValueError as exc:
        raise Invalid("the page link is not one voc gave out (or belongs to another sort order)",
                      code="invalid_cursor") from exc
    return key, ident_value, int(position)


def list_queue(session: Session, filters: QueueFilters, user: User, *, cursor: str | None = None,
               limit: int | None = None, now: datetime | None = None) -> QueuePage:
    """One page of the cases matching the filters in the chosen order, after `cursor`; and the counts."""
    limit, now = limit or PAGE_SIZE, now or queue_now()
    _, column, descending = SORTS[filters.sort]
    query, start = _filtered(filters, user, now), 0
    if cursor:
        key, ident, start = decode_cursor(cursor, filters.sort)
        if descending:
            query = query.where(or_(column < key, and_(column == key, Followup.id < ident)))
        else:
            query = query.where(or_(column > key, and_(column == key, Followup.id > ident)))
    order = (column.desc(), Followup.id.desc()) if descending else (column.asc(), Followup.id.asc())
    rows = list(session.scalars(query.order_by(*order).limit(limit + 1)))
    page = rows[:limit]
    next_cursor = encode_cursor(filters.sort, page[-1], start + len(page)) if len(rows) > limit else None
    counts = count_cases(session, filters, user, now)
    return QueuePage(items=load_cases(session, page, now), next_cursor=next_cursor, start=start, counts=counts,
                     total=counts.matching(filters))


def _by_id(session: Session, model: Any, ids: set[int | None]) -> dict[int, Any]:
    ids = {i for i in ids if i is not None}
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)))} if ids else {}


def load_cases(session: Session, rows: list[Followup], now: datetime | None = None) -> list[FollowupCase]:
    """Cases with their response, contact, survey, answers (with prompts), notes, assignee, priority now
    and whether they are overdue."""
    if not rows:
        return []
    now, value_attribute = now or queue_now(), get_settings().followup_value_attribute
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
        response, contact = responses[followup.response_id], contacts[followup.contact_id]
        version = versions.get(response.survey_version_id)
        prompts = {q["id"]: q["prompt"] for q in (version.questions if version else [])}
        cases.append(FollowupCase(
            followup=followup, response=response, contact=contact,
            survey=surveys.get(response.survey_id), touchpoint=touchpoints.get(response.touchpoint_id),
            answers=[(prompts.get(a.question_id, a.question_id), a.value) for a in answers[response.id]],
            notes=[(n, users[n.author_id].email if n.author_id in users else None) for n in notes[followup.id]],
            assignee=users.get(followup.assignee_id), priority=round(priority_at(followup.priority_key, now)),
            overdue=followup.status in UNRESOLVED and followup.due_at < now,
            value=customer_value(contact.attributes, value_attribute), now=now))
    return cases


def get_case(session: Session, followup_id: int, now: datetime | None = None) -> FollowupCase:
    """One case, loaded as the queue shows it, or 404 `followup_not_found`."""
    followup = session.get(Followup, followup_id)
    if followup is None:
        raise NotFound(f"no follow-up {followup_id}", code="followup_not_found")
    return load_cases(session, [followup], now)[0]
