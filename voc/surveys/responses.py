"""Opening an invitation, storing exactly one response for it, and reading responses back."""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import psycopg
from sqlalchemy import bindparam, func, insert, select, update
from sqlmodel import Session

from voc.analytics.rollups import record_funnel_step
from voc.cursors import keyset_page, pack_id_cursor, unpack_id_cursor
from voc.db import Batch, Prepared, Refused, Sized, utcnow
from voc.errors import Conflict, Gone, Invalid, NotFound, VocError
from voc.ids import is_row_id
from voc.jobs.models import Job
from voc.jobs.queue import JOB_COLUMNS, enqueue_many, enqueued, job_columns
from voc.surveys import answers as answer_rules
from voc.surveys.models import (
    Answer,
    Contact,
    Event,
    Invitation,
    InvitationStatus,
    PartialResponse,
    Response,
    Survey,
    SurveyStatus,
    SurveyVersion,
    Touchpoint,
)
from voc.surveys.schemas import AnswerOut, ResponsePage, ResponsePublic
from voc.surveys.tokens import hash_token
from voc.telemetry import RESPONSES_ACCEPTED, count_on_commit


class TooEarly(VocError):
    status_code = 425
    code = "invitation_not_open"


@dataclass
class OpenInvitation:
    """Everything the survey page needs about one invitation (plain values, no ORM objects)."""

    invitation_id: int
    survey_id: int
    survey_version_id: int
    touchpoint_id: int | None
    contact_id: int
    opened_at: datetime | None
    version: FrozenVersion
    prefilled: dict[str, Any]
    contact_attributes: dict[str, Any] = field(default_factory=dict)
    event_attributes: dict[str, Any] = field(default_factory=dict)
    site_id: int | None = None  # the embed widget's site, whose origins may frame the page
    partial: SavedAnswers | None = None  # what the customer saved step by step, if anything
    is_test: bool = False  # a test invitation from the dashboard: its response counts nowhere

    @property
    def saved(self) -> dict[str, Any]:
        """Answers saved so far, by question id (None: seen and skipped)."""
        return dict(self.partial.answers) if self.partial else {}

    @property
    def questions(self) -> list[dict]:
        """The questions to ask: those the CRM already answered are left out."""
        return [q for q in self.version.questions if q["id"] not in self.prefilled]


@dataclass(frozen=True)
class FrozenVersion:
    """The survey version an invitation was made for, as the customer sees it."""

    title: str
    questions: list[dict]
    thank_you: str
    layout: str = "steps"
    language: str = "en"
    translations: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SavedAnswers:
    """The invitation's partial response: answers saved step by step and the language chosen."""

    answers: dict[str, Any]
    language: str | None


_I, _R, _A, _P = Invitation.__table__, Response.__table__, Answer.__table__, PartialResponse.__table__
_S, _C, _V, _E = Survey.__table__, Contact.__table__, SurveyVersion.__table__, Event.__table__
_J = Job.__table__
# Compiled once and run on the driver (voc.db.Prepared): every answer and every step runs these, and
# SQLAlchemy's per-call work cost several times what SQLite takes to run them. Columns only.
_LOAD_COLUMNS = (
    select(_I.c.id, _I.c.completed_at, _I.c.expires_at, _I.c.invited_at, _I.c.opened_at, _I.c.survey_id,
           _I.c.survey_version_id, _I.c.touchpoint_id, _I.c.contact_id, _S.c.status, _C.c.attributes,
           _E.c.attributes, _V.c.created_at, _I.c.site_id, _P.c.id, _P.c.answers, _P.c.language, _I.c.is_test,
           _I.c.token_hash)
    .join(_S, _S.c.id == _I.c.survey_id)
    .join(_C, _C.c.id == _I.c.contact_id)
    .join(_V, _V.c.id == _I.c.survey_version_id)
    .outerjoin(_E, _E.c.id == _I.c.event_id)
    .outerjoin(_P, _P.c.invitation_id == _I.c.id)
)
# A survey version's content, read once per process (Versions).
_VERSION = Prepared(select(_V.c.title, _V.c.questions, _V.c.thank_you, _V.c.layout, _V.c.language, _V.c.translations)
                    .where(_V.c.id == bindparam("version", type_=_V.c.id.type)))


class Versions:
    """Survey versions by id, kept: a version never changes once frozen, and every answer and page step
    needs its questions, translations included (kilobytes of JSON that PostgreSQL would send and Python
    parse again each time). Kept by id and creation time, so a database whose ids start again (a restore, a
    test's fresh database) never gets another's version; at most SIZE, the oldest read dropped first."""

    SIZE = 256

    def __init__(self) -> None:
        self._kept: dict[tuple[int, datetime], FrozenVersion] = {}
        self._lock = threading.Lock()

    def get(self, connection: Any, version_id: int, created_at: datetime) -> FrozenVersion:
        version = self._kept.get((version_id, created_at))
        if version is None:
            title, questions, thank_you, layout, language, translations = _VERSION.first(
                connection, {"version": version_id})
            version = FrozenVersion(title, questions, thank_you, layout or "steps", language or "en",
                                    translations or {})
            with self._lock:
                if len(self._kept) >= self.SIZE:
                    del self._kept[next(iter(self._kept))]
                self._kept[version_id, created_at] = version
        return version


VERSIONS = Versions()
# The invitations behind n tokens (by hash), in one statement: the version's content comes from VERSIONS.
_LOAD = Sized(lambda n: _LOAD_COLUMNS.where(_I.c.token_hash.in_(
    [bindparam(f"h{i}", type_=_I.c.token_hash.type) for i in range(n)])))
# The conditional update is the lock: of two racing submits, one changes the row, one sees 0 rows. It
# returns the invitations it claimed (n of them asked for at once).
_NOW = bindparam("now", type_=_I.c.completed_at.type)
_CLAIM = Sized(lambda n: update(_I).where(
    _I.c.id.in_([bindparam(f"i{i}", type_=_I.c.id.type) for i in range(n)]), _I.c.completed_at.is_(None))
    .values(status=InvitationStatus.completed.value, completed_at=_NOW, opened_at=func.coalesce(_I.c.opened_at, _NOW))
    .returning(_I.c.id))
_COMPLETE_PARTIAL = Prepared(update(_P).where(_P.c.invitation_id == bindparam("invitation"))
                     .values(completed_at=bindparam("now"), updated_at=bindparam("now")))
_OPEN = Prepared(update(_I).where(_I.c.id == bindparam("invitation"), _I.c.opened_at.is_(None))
         .values(opened_at=bindparam("now"), status=InvitationStatus.opened.value))
_RESPONSE_COLUMNS = ("invitation_id", "survey_id", "survey_version_id", "touchpoint_id", "contact_id", "status",
                     "started_at", "completed_at", "created_at", "comment", "is_test", "nps", "csat", "ces",
                     "analysis", "analyser_version", "sentiment", "mismatch", "analyzed_at")
# n responses in one statement; each comes back with its invitation (RETURNING's order is not promised).
_INSERT_RESPONSES = Sized(lambda n: insert(_R).values([
    {column: bindparam(f"{column}_{i}", type_=_R.c[column].type) for column in _RESPONSE_COLUMNS}
    for i in range(n)]).returning(_R.c.invitation_id, _R.c.id))
_INSERT_ANSWER = Prepared(insert(_A))
_NO_ANALYSIS = {"analysis": None, "analyser_version": None, "sentiment": None, "mismatch": None,
                "analyzed_at": None}

# On PostgreSQL, a batch of answers in one statement: claim the invitations (of two racing submits, one
# claims the row), complete their partial responses, store the responses of those claimed, their answers
# and their jobs. The rows come as one JSON document ($2: each response's columns, its answers and its job's
# payload but the response id), read by jsonb_to_recordset: one json.dumps instead of a driver's dumping of
# each value, and the same text whatever the batch, which psycopg prepares once. $1 is the time, $3 the
# invitations' ids (an array, so the claim finds them by index: the planner cannot see into the JSON), then
# the job's own columns (JOB_COLUMNS).
# The response's copies of its invitation's columns come from the row the statement claims (the invitation
# holds their references: voc.surveys.models.Response).
_STORE_RESPONSE = (("invitation_id", "int"), ("started_at", "timestamptz"), ("comment", "text"), ("nps", "int"),
                   ("csat", "int"), ("ces", "int"))
_STORE_COPIED = ("survey_id", "survey_version_id", "touchpoint_id", "contact_id", "is_test")
_STORE_ANSWER = (("question_id", "text"), ("type", "text"), ("number", "float8"), ("text", "text"),
                 ("choices", "jsonb"), ("source", "text"))


def _typed_names(names: Any) -> str:
    return ", ".join(f"{name} {kind}" for name, kind in names)


def _names(names: Any) -> str:
    return ", ".join(name for name, _ in names)


_STORE = f"""
WITH given AS (
    SELECT * FROM jsonb_to_recordset($2::jsonb) AS g({_typed_names(_STORE_RESPONSE)}, answers jsonb, job jsonb)),
claimed AS (
    UPDATE {_I.name} SET status = '{InvitationStatus.completed.value}', completed_at = $1,
                         opened_at = coalesce(opened_at, $1)
    WHERE id = ANY($3::int[]) AND completed_at IS NULL
    RETURNING id, {", ".join(_STORE_COPIED)}),
partials AS (
    UPDATE {_P.name} SET completed_at = $1, updated_at = $1 WHERE invitation_id IN (SELECT id FROM claimed)),
stored AS (
    INSERT INTO {_R.name} ({_names(_STORE_RESPONSE)}, {", ".join(_STORE_COPIED)}, status, completed_at, created_at)
    SELECT {", ".join(f"given.{name}" for name, _ in _STORE_RESPONSE)},
           {", ".join(f"claimed.{name}" for name in _STORE_COPIED)}, 'completed', $1, $1
    FROM given JOIN claimed ON claimed.id = given.invitation_id
    RETURNING invitation_id, id),
answered AS (
    INSERT INTO {_A.name} (response_id, {_names(_STORE_ANSWER)})
    SELECT stored.id, a.* FROM stored JOIN given USING (invitation_id),
        jsonb_to_recordset(given.answers) AS a({_typed_names(_STORE_ANSWER)})),
queued AS (
    INSERT INTO {_J.name} ({_names(JOB_COLUMNS)}, payload)
    SELECT {", ".join(f"${4 + i}::{kind}" for i, (_, kind) in enumerate(JOB_COLUMNS))},
           jsonb_build_object('response_id', stored.id) || given.job
    FROM stored JOIN given USING (invitation_id))
SELECT invitation_id, id FROM stored"""  # noqa: S608 - table and column names of our own; values are bound


def load_invitation(session: Session, token: str, now: datetime | None = None) -> OpenInvitation:
    """The invitation behind a token, if it can still be answered (404, 409, 410, 425 otherwise)."""
    connection = session.connection()
    return _opened(connection, _LOAD(1).first(connection, {"h0": hash_token(token)}), now or utcnow())


def _opened(connection: Any, row: tuple | None, now: datetime) -> OpenInvitation:
    """An invitation's row from _LOAD, if it can still be answered (raises 404, 409, 410, 425 otherwise)."""
    if row is None:
        raise NotFound("This survey link is not valid.", code="token_invalid")
    (invitation_id, completed_at, expires_at, invited_at, opened_at, survey_id, version_id, touchpoint_id,
     contact_id, status, contact_attributes, event_attributes, version_created_at, site_id, partial_id, saved,
     saved_language, is_test, _token_hash) = row
    if completed_at is not None:
        raise _answered()
    if now >= expires_at:
        raise Gone("This survey link has expired.", code="token_expired")
    if now < invited_at:
        raise TooEarly("This survey is not open yet.")
    if status != SurveyStatus.active:
        raise Conflict("This survey is closed.", code="survey_inactive")
    known = {**(contact_attributes or {}), **(event_attributes or {})}
    version = VERSIONS.get(connection, version_id, version_created_at)
    return OpenInvitation(invitation_id, survey_id, version_id, touchpoint_id, contact_id, opened_at, version,
                          answer_rules.prefilled_answers(version.questions, known), contact_attributes or {},
                          event_attributes or {}, site_id,
                          SavedAnswers(saved or {}, saved_language) if partial_id is not None else None,
                          bool(is_test))


def mark_opened(session: Session, opened: OpenInvitation, now: datetime | None = None) -> None:
    """Record the first time the customer opened the survey (and count it in the day's funnel)."""
    if opened.opened_at is None:
        now = now or utcnow()
        first = _OPEN.run(session.connection(), {"invitation": opened.invitation_id, "now": now})
        if first == 1 and not opened.is_test:
            record_funnel_step(session, ("opened",), opened.survey_id, opened.touchpoint_id, now)
        opened.opened_at = now


def _answered() -> Conflict:
    return Conflict("This survey has already been answered. Thank you!", code="already_answered")


def store_responses(session: Session, submissions: list[tuple[str, list[tuple[str, Any]]]],
                    now: datetime | None = None) -> list[int | Refused]:
    """Validate and store each submission's answers (token, [(question_id, value), ...]): per submission,
    the new response's id, or Refused with the error it gets (404, 409 for a second submit, 410, 422,
    425), having stored nothing for it.

    Answers saved step by step count too (what is given now wins), and the partial response is then
    marked completed. The same statements whatever the number of submissions (the answer path's
    writer runs everything queued together at once): one read, then on SQLite a claim and an insert per
    table (_write), on PostgreSQL a single statement (_write_postgres); no ORM objects."""
    now = now or utcnow()
    connection = session.connection()
    hashes = [hash_token(token) for token, _ in submissions]
    unique = list(dict.fromkeys(hashes))
    rows = {row[-1]: row for row in _LOAD(len(unique)).all(connection, {f"h{i}": h for i, h in enumerate(unique)})}
    outcomes: list[int | Refused] = []
    valid: list[tuple[int, OpenInvitation, list[answer_rules.TypedAnswer]]] = []
    for index, ((_, given), token_hash) in enumerate(zip(submissions, hashes, strict=True)):
        outcomes.append(Refused(_answered()))  # until stored
        try:
            opened = _opened(connection, rows.get(token_hash), now)
            typed = _typed(opened, given)
        except VocError as refusal:
            outcomes[index] = Refused(refusal)
            continue
        if any(other.invitation_id == opened.invitation_id for _, other, _ in valid):
            continue  # the same token twice in one batch: the first is stored, this one is a second submit
        valid.append((index, opened, typed))
    if not valid:
        return outcomes
    # Answered without the page ever shown (the API's one-shot submit): opened now; no step left before: the
    # response starts and ends now. The worker counts these with the response (its job commits together with
    # its effects, so they count once), keeping the answer path short.
    jobs = {}
    for _, opened, _ in valid:
        steps = ["opened"] * (opened.opened_at is None) + ["started"] * (not opened.saved)
        jobs[opened.invitation_id] = {"funnel": steps} if steps else {}
    write = _write_postgres if connection.dialect.name == "postgresql" else _write
    ids = write(session, [(opened, typed) for _, opened, typed in valid], jobs, now)
    for index, opened, _ in valid:
        if opened.invitation_id in ids:
            outcomes[index] = ids[opened.invitation_id]
            count_on_commit(session, RESPONSES_ACCEPTED)  # /metrics: counted once the answer is committed, no SQL
    return outcomes


def _write(session: Session, valid: list[tuple[OpenInvitation, list[answer_rules.TypedAnswer]]],
           jobs: dict[int, dict[str, Any]], now: datetime) -> dict[int, int]:
    """Claim the invitations and store their responses, answers and jobs: the new response ids by the
    invitation they answer (those another submit claimed first are left out)."""
    connection = session.connection()
    claimed = {row[0] for row in _CLAIM(len(valid)).all(
        connection, {"now": now, **{f"i{i}": opened.invitation_id for i, (opened, _) in enumerate(valid)}})}
    valid = [entry for entry in valid if entry[0].invitation_id in claimed]
    if not valid:
        return {}
    rows_in: dict[str, Any] = {}
    for i, (opened, typed) in enumerate(valid):
        if opened.partial is not None:  # kept, completed, for the funnel
            _COMPLETE_PARTIAL.run(connection, {"invitation": opened.invitation_id, "now": now})
        rows_in.update({f"{column}_{i}": value for column, value in _response_row(opened, typed, now).items()})
    ids = dict(_INSERT_RESPONSES(len(valid)).all(connection, rows_in))
    _INSERT_ANSWER.run(connection, [
        {"response_id": ids[opened.invitation_id], "question_id": a.question_id, "type": a.type,
         "number": a.number, "text": a.text, "choices": a.choices, "source": a.source}
        for opened, typed in valid for a in typed])
    enqueue_many(session, "response.completed", [
        {"response_id": ids[opened.invitation_id], **jobs[opened.invitation_id]} for opened, _ in valid])
    return ids


def _write_postgres(session: Session, valid: list[tuple[OpenInvitation, list[answer_rules.TypedAnswer]]],
                    jobs: dict[int, dict[str, Any]], now: datetime) -> dict[int, int]:
    """_write in one statement (_STORE), whatever the number of answers: on PostgreSQL every statement is a
    round trip and costs the driver and the server more than its rows do."""
    given = []
    for opened, typed in valid:
        row = _response_row(opened, typed, now)
        given.append({**{column: row[column] for column, _ in _STORE_RESPONSE},
                      "started_at": row["started_at"].isoformat(), "job": jobs[opened.invitation_id],
                      "answers": [{"question_id": a.question_id, "type": a.type, "number": a.number, "text": a.text,
                                   "choices": a.choices, "source": a.source} for a in typed]})
    params = [now, json.dumps(given), [opened.invitation_id for opened, _ in valid],
              *job_columns("response.completed", now)]
    with psycopg.RawCursor(session.connection().connection.dbapi_connection) as cursor:
        cursor.execute(_STORE, params)
        stored = dict(cursor.fetchall())
    if stored:
        enqueued(session)
    return stored


def _typed(opened: OpenInvitation, given: list[tuple[str, Any]]) -> list[answer_rules.TypedAnswer]:
    """The answers to store: those given now, and those saved step by step not given again (422 if none)."""
    given_ids = {question_id for question_id, _ in given}
    asked = {q["id"] for q in opened.questions}
    saved = [(qid, value) for qid, value in opened.saved.items()
             if qid in asked and qid not in given_ids and value is not None]
    typed = answer_rules.validate_answers(opened.version.questions, [*given, *saved], opened.prefilled)
    if not any(a.source == "customer" for a in typed):
        raise Invalid("Please answer at least one question.", code="answer_required")
    return typed


def _response_row(opened: OpenInvitation, typed: list[answer_rules.TypedAnswer], now: datetime) -> dict[str, Any]:
    scores: dict[str, int | None] = {"nps": None, "csat": None, "ces": None}
    for answer in typed:
        if answer.type in scores and scores[answer.type] is None:
            scores[answer.type] = int(answer.number)
    comment = "\n\n".join(a.text for a in typed if a.type == "text" and a.text and a.text.strip()) or None
    return {"invitation_id": opened.invitation_id, "survey_id": opened.survey_id,
            "survey_version_id": opened.survey_version_id, "touchpoint_id": opened.touchpoint_id,
            "contact_id": opened.contact_id, "status": "completed", "started_at": opened.opened_at or now,
            "completed_at": now, "created_at": now, "comment": comment, "is_test": opened.is_test, **scores,
            **_NO_ANALYSIS}


# The answer path: every submission queued for the writer together is stored by one store_responses, on
# PostgreSQL in one statement after the read (_write_postgres), without a transaction around them.
store_response_batch = Batch(store_responses, single_statement=True)


def store_response(session: Session, token: str, given: list[tuple[str, Any]],
                   now: datetime | None = None) -> int:
    """Validate and store the answers, returning the new response's id; a second submit gets 409."""
    outcome = store_responses(session, [(token, given)], now)[0]
    if isinstance(outcome, Refused):
        raise outcome.error
    return outcome


def submit_response(session: Session, token: str, given: list[tuple[str, Any]],
                    now: datetime | None = None) -> Response:
    """store_response, returning the stored row (for callers that go on working with it)."""
    return session.get(Response, store_response(session, token, given, now))


def get_response(session: Session, response_id: int) -> ResponsePublic:
    response = session.get(Response, response_id) if is_row_id(response_id) else None
    if response is None:
        raise NotFound(f"no response {response_id}", code="response_not_found")
    return responses_public(session, [response])[0]


def list_responses(session: Session, *, survey: str | None = None, touchpoint: str | None = None,
                   contact: str | None = None, since: datetime | None = None, until: datetime | None = None,
                   cursor: str | None = None, limit: int = 50, test: bool = False) -> ResponsePage:
    """Responses, newest first, filtered; `next_cursor` continues where this page ended. Test responses (from
    test invitations) only when `test` asks for them, and then only they."""
    query = select(Response).where(Response.is_test.is_(test)).order_by(Response.id.desc()).limit(limit + 1)
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
        query = query.where(Response.id < unpack_id_cursor(cursor, "r"))
    page, next_cursor = keyset_page(list(session.scalars(query)), limit, lambda r: pack_id_cursor("r", r.id))
    return ResponsePage(items=responses_public(session, page), next_cursor=next_cursor)


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
            started_at=r.started_at, completed_at=r.completed_at, analysis=r.analysis, is_test=r.is_test,
        )
        for r in responses
    ]


def contact_ref(contact: Contact | SimpleNamespace) -> dict[str, Any]:
    """How every payload names a customer, so the CRM can find its record."""
    return {"external_id": contact.external_id, "crm": contact.crm}
