"""Keeping the rollups up to date: each change adds its difference in one upsert, in the change's transaction.

Two tables: `rollup` per day × survey × touchpoint, and `rollup_total` with the same sums per day over every
survey and/or every touchpoint (so a page reads one row per day, however many cells a day has). A change
adds its delta to its daily cell and to the three totals that cell counts in: one upsert per table.

Idempotency: what a response added is stored in `rollup_entry`; applying a response again adds only the
difference between its new contribution and the stored one (nothing, when nothing changed), so a job that
runs twice, or a re-analysis, never counts twice.

Days are workspace days (voc.periods.local_day, VOC_TIME_ZONE): the day a moment falls on where the CX team
works, so a period's whole days sum exactly the responses between its local midnights. Changing the zone
needs `voc rebuild-rollups`.

Choice questions roll up into `choice_rollup` when a response is first counted: who saw each choice question
(its show_if held and the CRM did not prefill it) and what they picked. Answers never change after a
response is stored, so what the first count added stays right; a rebuild recounts them."""

from __future__ import annotations

from collections import Counter, defaultdict, namedtuple
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, delete, event, func, insert, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from voc.analytics.models import (
    ALL,
    DIMENSIONS,
    NO_TOUCHPOINT,
    SEEN,
    ChoiceRollup,
    Rollup,
    RollupEntry,
    RollupTotal,
)
from voc.config import get_settings
from voc.db import Prepared, holds_shared_rows
from voc.periods import local_day, workspace_zone
from voc.surveys.answers import is_shown
from voc.surveys.models import Answer, Invitation, PartialResponse, Response, SurveyVersion

KEY_COLUMNS = ("day", "survey_id", "touchpoint_id")
TOTAL_KEY_COLUMNS = ("survey_id", "touchpoint_id", "day")
COUNT_COLUMNS = tuple(c.name for c in Rollup.__table__.columns if c.name not in KEY_COLUMNS)
Cell = tuple[date, int, int]  # (day, survey, touchpoint): a rollup row
TotalKey = tuple[int, int, date]  # (survey or ALL, touchpoint or ALL, day): a rollup_total row


def _day(moment: datetime | None) -> date:
    return local_day(moment) if moment else date.min


def response_cell(response: Any) -> Cell:
    """The day × survey × touchpoint a response rolls up into (its completion day, in the workspace zone)."""
    return (_day(response.completed_at or response.created_at), response.survey_id,
            response.touchpoint_id or NO_TOUCHPOINT)


def response_contribution(response: Any) -> dict[str, float]:
    """What one response adds to its rollup cell: scores once completed, sentiment and dimensions once read."""
    if response.status != "completed":
        return {}
    out: dict[str, float] = {"responses": 1}
    if response.nps is not None and 0 <= response.nps <= 10:
        out[f"nps_{response.nps}"] = 1
        group = "promoters" if response.nps >= 9 else "passives" if response.nps >= 7 else "detractors"
        out[f"nps_{group}"] = 1
    if response.csat is not None and 1 <= response.csat <= 5:
        out[f"csat_{response.csat}"] = 1
    if response.ces is not None and 1 <= response.ces <= 7:
        out[f"ces_{response.ces}"] = 1
    analysis = response.analysis or {}
    sentiment = analysis.get("sentiment")
    if sentiment:
        out["sentiment_sum"] = float(sentiment["compound"])
        out["sentiment_square_sum"] = float(sentiment["compound"]) ** 2
        out["sentiment_count"] = 1
        out[f"sentiment_{sentiment['label']}"] = 1
    for name in DIMENSIONS:
        score = (analysis.get("dimensions") or {}).get(name)
        if score:
            salience, valence = float(score["salience"]), float(score["valence"])
            out[f"{name}_valence_sum"] = salience * valence
            out[f"{name}_salience_sum"] = salience
            out[f"{name}_count"] = 1
    if response.mismatch:
        out["mismatch_count"] = 1
    return {k: v for k, v in out.items() if k in COUNT_COLUMNS}


def total_cells(cell: Cell) -> list[TotalKey]:
    """The rollup_total rows a day × survey × touchpoint cell also counts in, as (survey, touchpoint, day)."""
    day, survey_id, touchpoint_id = cell
    return [(survey_id, ALL, day), (ALL, touchpoint_id, day), (ALL, ALL, day)]


# What an invitation or a funnel step changes: those go through a narrow upsert (they are on the
# request path of every answer); a response's scores and analysis through the one over every count.
FUNNEL_COLUMNS = ("invitations", "opened", "started")


@cache
def _upsert_statement(table: Any, keys: tuple[str, ...], dialect_name: str, columns: tuple[str, ...]) -> Prepared:
    """INSERT … ON CONFLICT DO UPDATE SET x = x + excluded.x for `columns`, built once per table.

    Adding zero deltas too keeps one statement for many changes: building a statement per call (a
    column proxy per count for `excluded`) cost more than running it."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(table)
    return Prepared(statement.on_conflict_do_update(index_elements=list(keys),
                                                    set_={c: table.c[c] + statement.excluded[c] for c in columns}))


def _upsert(session: Session, table: Any, keys: tuple[str, ...], deltas: Mapping[tuple, Mapping[str, float]],
            columns: tuple[str, ...] | None = None) -> None:
    """Add each row's delta (one execution of a prebuilt upsert per row), or, in a session that holds shared
    rows until its commit (voc.db.shared_rows_at_commit: a worker running many jobs in one transaction), add
    it to the changes written just before that commit.

    Rows go in key order, so concurrent transactions lock them in the same order (no deadlock between them)."""
    if holds_shared_rows(session):
        held = session.info.setdefault(_HELD, {}).setdefault((table, keys, columns), defaultdict(Counter))
        for key, delta in deltas.items():
            held[key].update(delta)
        return
    _write_upsert(session, table, keys, deltas, columns)


_HELD = "voc_rollups_held"  # session.info: the rollup changes held until the commit


@event.listens_for(OrmSession, "before_commit")
def _write_held(session: OrmSession) -> None:
    held = session.info.pop(_HELD, None)
    for (table, keys, columns), deltas in (held or {}).items():
        _write_upsert(session, table, keys, deltas, columns)


@event.listens_for(OrmSession, "after_rollback")
def _drop_held(session: OrmSession) -> None:
    session.info.pop(_HELD, None)


def _write_upsert(session: Session, table: Any, keys: tuple[str, ...], deltas: Mapping[tuple, Mapping[str, float]],
                  columns: tuple[str, ...] | None) -> None:
    rows = [(key, delta) for key, delta in sorted(deltas.items()) if any(delta.values())]
    if not rows:
        return
    if columns is None:
        changed = {c for _, delta in rows for c, v in delta.items() if v}
        columns = FUNNEL_COLUMNS if changed <= set(FUNNEL_COLUMNS) else COUNT_COLUMNS
    connection = session.connection()
    statement = _upsert_statement(table, keys, connection.dialect.name, columns)
    # Counts left out of a narrow insert take their column default (0).
    statement.run(connection, [{**dict(zip(keys, key, strict=True)), **{c: delta.get(c, 0) for c in columns}}
                               for key, delta in rows])


def _add(session: Session, changes: list[tuple[Cell, Mapping[str, float]]]) -> None:
    """Add (cell, delta) changes to the daily cells and to every total they count in."""
    cells: dict[Cell, dict[str, float]] = defaultdict(lambda: defaultdict(int))
    totals: dict[TotalKey, dict[str, float]] = defaultdict(lambda: defaultdict(int))
    for cell, delta in changes:
        for target in (cells[cell], *(totals[key] for key in total_cells(cell))):
            for column, value in delta.items():
                target[column] += value
    _upsert(session, Rollup.__table__, KEY_COLUMNS, cells)
    _upsert(session, RollupTotal.__table__, TOTAL_KEY_COLUMNS, totals)


_E = RollupEntry.__table__
_ENTRY_VALUES = ("day", "survey_id", "touchpoint_id", "contribution")
_LOAD_ENTRY = Prepared(select(*(_E.c[c] for c in _ENTRY_VALUES))
                       .where(_E.c.response_id == bindparam("response")).with_for_update())
_INSERT_ENTRY = Prepared(insert(_E))
_UPDATE_ENTRY = Prepared(update(_E).where(_E.c.response_id == bindparam("response"))
                         .values({c: bindparam(f"new_{c}", type_=_E.c[c].type) for c in _ENTRY_VALUES}))


CHOICE_TYPES = ("single_choice", "multi_choice")
CHOICE_KEY_COLUMNS = ("survey_id", "touchpoint_id", "day", "question_id", "option")
ChoiceKey = tuple[int, int, date, str, str]  # a choice_rollup row
_ANSWER_COLUMNS = (Answer.response_id, Answer.question_id, Answer.type, Answer.number, Answer.text, Answer.choices,
                   Answer.source)


# Every answer's job with a choice question runs this (voc.db.Prepared): its answers.
_RESPONSE_ANSWERS = Prepared(select(*(Answer.__table__.c[c.key] for c in _ANSWER_COLUMNS))
                             .where(Answer.__table__.c.response_id == bindparam("response")))
_AnswerRow = namedtuple("_AnswerRow", [c.key for c in _ANSWER_COLUMNS])  # noqa: PYI024 - read like ORM rows


def _answer_value(answer: Any) -> Any:
    """An answer as the value a show_if condition reads (a single choice is its option, as the customer gave it)."""
    if answer.choices is not None:
        return answer.choices[0] if answer.type == "single_choice" and answer.choices else answer.choices
    if answer.number is not None:
        return int(answer.number) if float(answer.number).is_integer() else answer.number
    return answer.text


def choice_contribution(questions: list[dict[str, Any]], answers: Iterable[Any]) -> list[tuple[str, str]]:
    """What one response adds to the choice counts, as (question, option) pairs: (question, SEEN) for each
    choice question it was shown (its show_if held, the CRM did not prefill it), and one pair per option picked."""
    given = {a.question_id: a for a in answers}
    known = {question_id: _answer_value(a) for question_id, a in given.items()}
    out: list[tuple[str, str]] = []
    for question in questions:
        if question.get("type") not in CHOICE_TYPES:
            continue
        answer = given.get(question["id"])
        if (answer is not None and answer.source != "customer") or not is_shown(question, known):
            continue
        out.append((question["id"], SEEN))
        if answer is not None and answer.choices:
            out.extend((question["id"], option) for option in dict.fromkeys(answer.choices))
    return out


def _choice_keys(cell: Cell, pairs: Iterable[tuple[str, str]]) -> Iterator[ChoiceKey]:
    """The choice_rollup rows a response's pairs count in: its touchpoint's, and the one over every touchpoint."""
    day, survey_id, touchpoint_id = cell
    for question_id, option in pairs:
        yield (survey_id, touchpoint_id, day, question_id, option)
        yield (survey_id, ALL, day, question_id, option)


def has_choice_questions(questions: list[dict[str, Any]] | None) -> bool:
    """Whether a survey version asks any choice question."""
    return any(q.get("type") in CHOICE_TYPES for q in questions or [])


def _record_choices(session: Session, response: Response, cell: Cell, old_cell: Cell | None = None) -> None:
    """Count who saw each choice question of the response's survey version, and what they picked, in `cell`
    (and take them out of `old_cell`, where they were counted before the response moved)."""
    if response.status != "completed":
        return
    # From the session when the caller loaded it (a worker's batch of answers reads its versions at once).
    version = session.get(SurveyVersion, response.survey_version_id)
    questions = version.questions if version else None
    if not has_choice_questions(questions):
        return
    connection = session.connection()
    answers = [_AnswerRow(*row) for row in _RESPONSE_ANSWERS.all(connection, {"response": response.id})]
    pairs = choice_contribution(questions or [], answers)
    counts = Counter(_choice_keys(cell, pairs))
    if old_cell is not None:
        counts.subtract(_choice_keys(old_cell, pairs))
    if counts:
        _upsert(session, ChoiceRollup.__table__, CHOICE_KEY_COLUMNS,
                {key: {"answers": count} for key, count in counts.items()}, columns=("answers",))


def record_response(session: Session, response: Response, funnel: tuple[str, ...] = ()) -> None:
    """Bring the rollups in line with a response's current scores and analysis (safe to repeat).

    `funnel`: the steps its submit took ("opened", "started"), counted once on the same day and cell. The
    first time a response is counted, its choice answers are counted too (answers never change afterwards;
    should the response move to another cell, they move with it). A test response counts nowhere."""
    if getattr(response, "is_test", False):
        return
    if response.id is None:
        session.flush()
    connection = session.connection()
    entry = _LOAD_ENTRY.first(connection, {"response": response.id})
    new_cell, new = response_cell(response), response_contribution(response)
    old = dict(entry[3]) if entry else {}
    old_cell = tuple(entry[:3]) if entry else new_cell
    changes = [(old_cell, {k: -v for k, v in old.items()}), (new_cell, new)]
    if funnel:
        changes.append((new_cell, dict.fromkeys(funnel, 1)))
    _add(session, changes)
    values = dict(zip(_ENTRY_VALUES, (*new_cell, new), strict=True))
    if entry is None:
        _INSERT_ENTRY.run(connection, {"response_id": response.id, **values})
        _record_choices(session, response, new_cell)
    else:
        _UPDATE_ENTRY.run(connection, {"response": response.id, **{f"new_{c}": v for c, v in values.items()}})
        if old_cell != new_cell:
            _record_choices(session, response, new_cell, old_cell)


def invitation_cell(invitation: Invitation) -> Cell:
    """The cell an invitation counts in: the day it became usable."""
    return (_day(invitation.invited_at), invitation.survey_id, invitation.touchpoint_id or NO_TOUCHPOINT)


def record_invitation(session: Session, invitation: Invitation) -> None:
    """Count a new invitation (called once, where the invitation is created); a test invitation counts nowhere."""
    if invitation.is_test:
        return
    _add(session, [(invitation_cell(invitation), {"invitations": 1})])


def record_funnel_step(session: Session, steps: tuple[str, ...], survey_id: int, touchpoint_id: int | None,
                       moment: datetime) -> None:
    """Count an invitation `opened` and/or a response `started` on the day it happened (called once per
    step, where the step is stored: the first opening, the first step left or a one-shot submit)."""
    if steps:
        _add(session, [((_day(moment), survey_id, touchpoint_id or NO_TOUCHPOINT), dict.fromkeys(steps, 1))])


_RESPONSE_COLUMNS = (Response.id, Response.invitation_id, Response.survey_id, Response.survey_version_id,
                     Response.touchpoint_id, Response.status, Response.nps, Response.csat, Response.ces,
                     Response.analysis, Response.mismatch, Response.completed_at, Response.created_at)


def _response_batches(session: Session, size: int = 5000) -> Iterator[list[Any]]:
    """Every response's rolled-up columns, in id order, a batch at a time (rows, not ORM objects)."""
    last = 0
    while True:
        rows = list(session.execute(select(*_RESPONSE_COLUMNS).where(Response.id > last, Response.is_test.is_(False))
                                    .order_by(Response.id).limit(size)))
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _counts_by_day(session: Session, moment: Any, *where: Any) -> Iterator[tuple[date, int, int | None, int]]:
    """Invitations per (workspace day of `moment`, survey, touchpoint): grouped in SQL where the database can
    tell the day (PostgreSQL knows the zones; SQLite stores UTC), else counted here row by row (SQLite has no
    time zone database, and a zone's offset changes with the date)."""
    zone_name = get_settings().time_zone
    columns = (Invitation.survey_id, Invitation.touchpoint_id)
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres or zone_name == "UTC":
        # The zone as a literal, not a parameter: GROUP BY must repeat the very same expression. Its name was
        # checked against the zone database when the settings were read (letters, digits, / _ + -).
        zone = literal_column("'" + zone_name.replace("'", "''") + "'")
        day = func.date(func.timezone(zone, moment)) if postgres else func.date(moment)
        for found, survey_id, touchpoint_id, count in session.execute(
                select(day, *columns, func.count()).where(*where).group_by(day, *columns)):
            yield (found if isinstance(found, date) else date.fromisoformat(str(found)), survey_id, touchpoint_id,
                   count)
        return
    zone_info = workspace_zone()
    counts: Counter[tuple[date, int, int | None]] = Counter()
    for found, survey_id, touchpoint_id in session.execute(select(moment, *columns).where(*where)):
        counts[(local_day(found, zone_info), survey_id, touchpoint_id)] += 1
    for (day_value, survey_id, touchpoint_id), count in counts.items():
        yield day_value, survey_id, touchpoint_id, count


def _choice_counts(session: Session, batch: list[Any], questions_of: dict[int, list[dict[str, Any]]]
                   ) -> Counter[ChoiceKey]:
    """The choice_rollup rows a batch of responses adds (answers loaded only for versions asking a choice)."""
    missing = {r.survey_version_id for r in batch} - questions_of.keys()
    if missing:
        questions_of.update(session.execute(select(SurveyVersion.id, SurveyVersion.questions)
                                            .where(SurveyVersion.id.in_(missing))).all())
    asking = [r for r in batch
              if r.status == "completed" and has_choice_questions(questions_of.get(r.survey_version_id))]
    counts: Counter[ChoiceKey] = Counter()
    if not asking:
        return counts
    answers: dict[int, list[Any]] = defaultdict(list)
    for answer in session.execute(select(*_ANSWER_COLUMNS).where(Answer.response_id.in_([r.id for r in asking]))):
        answers[answer.response_id].append(answer)
    for response in asking:
        pairs = choice_contribution(questions_of[response.survey_version_id] or [], answers[response.id])
        counts.update(_choice_keys(response_cell(response), pairs))
    return counts


def rebuild_rollups(session: Session) -> int:
    """Recompute every rollup, total, response entry and choice count from invitations, responses and answers
    (on workspace days, VOC_TIME_ZONE); returns daily cells."""
    session.flush()
    for table in (RollupEntry, Rollup, RollupTotal, ChoiceRollup):
        session.execute(delete(table))
    cells: dict[Cell, dict[str, float]] = defaultdict(lambda: dict.fromkeys(COUNT_COLUMNS, 0))
    real = Invitation.is_test.is_(False)  # test invitations and their answers count nowhere
    for day, survey_id, touchpoint_id, count in _counts_by_day(session, Invitation.invited_at, real):
        cells[(day, survey_id, touchpoint_id or NO_TOUCHPOINT)]["invitations"] += count
    for day, survey_id, touchpoint_id, count in _counts_by_day(session, Invitation.opened_at, real,
                                                               Invitation.opened_at.is_not(None)):
        cells[(day, survey_id, touchpoint_id or NO_TOUCHPOINT)]["opened"] += count
    # Started: on the day of the first step left (a partial response holding answers), else on the day
    # a response was submitted in one go.
    started_by_step: set[int] = set()
    for invitation_id, survey_id, touchpoint_id, started_at, answers in session.execute(
            select(PartialResponse.invitation_id, PartialResponse.survey_id, Invitation.touchpoint_id,
                   PartialResponse.started_at, PartialResponse.answers)
            .join(Invitation, Invitation.id == PartialResponse.invitation_id).where(real)):
        if answers:
            started_by_step.add(invitation_id)
            cells[(_day(started_at), survey_id, touchpoint_id or NO_TOUCHPOINT)]["started"] += 1
    entries: list[dict[str, Any]] = []
    choices: Counter[ChoiceKey] = Counter()
    questions_of: dict[int, list[dict[str, Any]]] = {}
    for batch in _response_batches(session):
        for response in batch:
            cell, contribution = response_cell(response), response_contribution(response)
            for key, value in contribution.items():
                cells[cell][key] += value
            if response.invitation_id not in started_by_step:
                cells[cell]["started"] += 1
            entries.append({"response_id": response.id, "day": cell[0], "survey_id": cell[1],
                            "touchpoint_id": cell[2], "contribution": contribution})
        choices.update(_choice_counts(session, batch, questions_of))
        if len(entries) >= 2000:
            session.execute(RollupEntry.__table__.insert(), entries)
            entries = []
    if entries:
        session.execute(RollupEntry.__table__.insert(), entries)
    totals: dict[TotalKey, dict[str, float]] = defaultdict(lambda: dict.fromkeys(COUNT_COLUMNS, 0))
    for cell, values in cells.items():
        for key in total_cells(cell):
            for column, value in values.items():
                totals[key][column] += value
    choice_rows = {key: {"answers": count} for key, count in choices.items()}
    for table, keys, found in ((Rollup.__table__, KEY_COLUMNS, cells),
                               (RollupTotal.__table__, TOTAL_KEY_COLUMNS, totals),
                               (ChoiceRollup.__table__, CHOICE_KEY_COLUMNS, choice_rows)):
        rows = [{**dict(zip(keys, key, strict=True)), **values} for key, values in found.items()]
        for start in range(0, len(rows), 1000):
            session.execute(table.insert(), rows[start:start + 1000])
    session.flush()
    return len(cells)
