"""Keeping the rollups up to date: each change adds its difference in one upsert, in the change's transaction.

Two tables: `rollup` per day × survey × touchpoint, and `rollup_total` with the same sums per day over every
survey and/or every touchpoint (so a page reads one row per day, however many cells a day has). A change
adds its delta to its daily cell and to the three totals that cell counts in: one upsert per table.

Idempotency: what a response added is stored in `rollup_entry`; applying a response again adds only the
difference between its new contribution and the stored one (nothing, when nothing changed), so a job that
runs twice, or a re-analysis, never counts twice."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from voc.analytics.models import ALL, DIMENSIONS, NO_TOUCHPOINT, Rollup, RollupEntry, RollupTotal
from voc.db import Prepared
from voc.surveys.models import Invitation, PartialResponse, Response

KEY_COLUMNS = ("day", "survey_id", "touchpoint_id")
TOTAL_KEY_COLUMNS = ("survey_id", "touchpoint_id", "day")
COUNT_COLUMNS = tuple(c.name for c in Rollup.__table__.columns if c.name not in KEY_COLUMNS)
Cell = tuple[date, int, int]  # (day, survey, touchpoint): a rollup row
TotalKey = tuple[int, int, date]  # (survey or ALL, touchpoint or ALL, day): a rollup_total row


def _day(moment: datetime | None) -> date:
    return (moment or datetime.min).date()


def response_cell(response: Any) -> Cell:
    """The day × survey × touchpoint a response rolls up into (its completion day, UTC)."""
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


def _upsert(session: Session, table: Any, keys: tuple[str, ...], deltas: Mapping[tuple, Mapping[str, float]]
            ) -> None:
    """Add each row's delta (one execution of a prebuilt upsert per row).

    Rows go in key order, so concurrent transactions lock them in the same order (no deadlock between them)."""
    rows = [(key, delta) for key, delta in sorted(deltas.items()) if any(delta.values())]
    if not rows:
        return
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


def record_response(session: Session, response: Response, funnel: tuple[str, ...] = ()) -> None:
    """Bring the rollups in line with a response's current scores and analysis (safe to repeat).

    `funnel`: the steps its submit took ("opened", "started"), counted once on the same day and cell."""
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
    else:
        _UPDATE_ENTRY.run(connection, {"response": response.id, **{f"new_{c}": v for c, v in values.items()}})


def invitation_cell(invitation: Invitation) -> Cell:
    """The cell an invitation counts in: the day it became usable."""
    return (_day(invitation.invited_at), invitation.survey_id, invitation.touchpoint_id or NO_TOUCHPOINT)


def record_invitation(session: Session, invitation: Invitation) -> None:
    """Count a new invitation (called once, where the invitation is created)."""
    _add(session, [(invitation_cell(invitation), {"invitations": 1})])


def record_funnel_step(session: Session, steps: tuple[str, ...], survey_id: int, touchpoint_id: int | None,
                       moment: datetime) -> None:
    """Count an invitation `opened` and/or a response `started` on the day it happened (called once per
    step, where the step is stored: the first opening, the first step left or a one-shot submit)."""
    if steps:
        _add(session, [((_day(moment), survey_id, touchpoint_id or NO_TOUCHPOINT), dict.fromkeys(steps, 1))])


_RESPONSE_COLUMNS = (Response.id, Response.invitation_id, Response.survey_id, Response.touchpoint_id,
                     Response.status, Response.nps, Response.csat, Response.ces, Response.analysis,
                     Response.mismatch, Response.completed_at, Response.created_at)


def _response_rows(session: Session, size: int = 5000) -> Iterable[Any]:
    """Every response's rolled-up columns, in id order, a batch at a time (rows, not ORM objects)."""
    last = 0
    while True:
        rows = list(session.execute(select(*_RESPONSE_COLUMNS).where(Response.id > last)
                                    .order_by(Response.id).limit(size)))
        if not rows:
            return
        yield from rows
        last = rows[-1].id


def _utc_day(session: Session, column: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone(literal_column("'UTC'"), column))
    return func.date(column)  # SQLite stores UTC already


def rebuild_rollups(session: Session) -> int:
    """Recompute every rollup, total and response entry from invitations and responses; returns daily cells."""
    session.flush()
    session.execute(delete(RollupEntry))
    session.execute(delete(Rollup))
    session.execute(delete(RollupTotal))
    cells: dict[Cell, dict[str, float]] = defaultdict(lambda: dict.fromkeys(COUNT_COLUMNS, 0))
    invited_day = _utc_day(session, Invitation.invited_at)
    for day, survey_id, touchpoint_id, count in session.execute(
            select(invited_day, Invitation.survey_id, Invitation.touchpoint_id, func.count())
            .group_by(invited_day, Invitation.survey_id, Invitation.touchpoint_id)):
        day = day if isinstance(day, date) else date.fromisoformat(str(day))
        cells[(day, survey_id, touchpoint_id or NO_TOUCHPOINT)]["invitations"] += count
    opened_day = _utc_day(session, Invitation.opened_at)
    for day, survey_id, touchpoint_id, count in session.execute(
            select(opened_day, Invitation.survey_id, Invitation.touchpoint_id, func.count())
            .where(Invitation.opened_at.is_not(None))
            .group_by(opened_day, Invitation.survey_id, Invitation.touchpoint_id)):
        day = day if isinstance(day, date) else date.fromisoformat(str(day))
        cells[(day, survey_id, touchpoint_id or NO_TOUCHPOINT)]["opened"] += count
    # Started: on the day of the first step left (a partial response holding answers), else on the day
    # a response was submitted in one go.
    started_by_step: set[int] = set()
    for invitation_id, survey_id, touchpoint_id, started_at, answers in session.execute(
            select(PartialResponse.invitation_id, PartialResponse.survey_id, Invitation.touchpoint_id,
                   PartialResponse.started_at, PartialResponse.answers)
            .join(Invitation, Invitation.id == PartialResponse.invitation_id)):
        if answers:
            started_by_step.add(invitation_id)
            cells[(_day(started_at), survey_id, touchpoint_id or NO_TOUCHPOINT)]["started"] += 1
    entries: list[dict[str, Any]] = []
    for response in _response_rows(session):
        cell, contribution = response_cell(response), response_contribution(response)
        for key, value in contribution.items():
            cells[cell][key] += value
        if response.invitation_id not in started_by_step:
            cells[cell]["started"] += 1
        entries.append({"response_id": response.id, "day": cell[0], "survey_id": cell[1],
                        "touchpoint_id": cell[2], "contribution": contribution})
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
    for table, keys, found in ((Rollup.__table__, KEY_COLUMNS, cells),
                               (RollupTotal.__table__, TOTAL_KEY_COLUMNS, totals)):
        rows = [{**dict(zip(keys, key, strict=True)), **values} for key, values in found.items()]
        for start in range(0, len(rows), 1000):
            session.execute(table.insert(), rows[start:start + 1000])
    session.flush()
    return len(cells)
