"""Keeping the rollups up to date: each change adds its difference in one upsert, in the change's transaction.

Idempotency: what a response added is stored in `rollup_entry`; applying a response again adds only the
difference between its new contribution and the stored one (nothing, when nothing changed), so a job that
runs twice, or a re-analysis, never counts twice."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from voc.analytics.models import DIMENSIONS, NO_TOUCHPOINT, Rollup, RollupEntry
from voc.surveys.models import Invitation, Response

KEY_COLUMNS = ("day", "survey_id", "touchpoint_id")
COUNT_COLUMNS = tuple(c.name for c in Rollup.__table__.columns if c.name not in KEY_COLUMNS)
Cell = tuple[date, int, int]


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


def _upsert(session: Session, cell: Cell, delta: Mapping[str, float]) -> None:
    """Add `delta` to one cell: a single INSERT … ON CONFLICT DO UPDATE SET x = x + :d."""
    delta = {k: v for k, v in delta.items() if v}
    if not delta:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = Rollup.__table__
    statement = dialect.insert(table).values(**dict(zip(KEY_COLUMNS, cell, strict=True)),
                                             **{c: delta.get(c, 0) for c in COUNT_COLUMNS})
    statement = statement.on_conflict_do_update(
        index_elements=list(KEY_COLUMNS),
        set_={c: table.c[c] + statement.excluded[c] for c in delta})
    session.execute(statement)


def record_response(session: Session, response: Response) -> None:
    """Bring the rollups in line with a response's current scores and analysis (safe to repeat)."""
    if response.id is None:
        session.flush()
    entry = session.execute(select(RollupEntry).where(RollupEntry.response_id == response.id)
                            .with_for_update()).scalar_one_or_none()
    new_cell, new = response_cell(response), response_contribution(response)
    old = dict(entry.contribution) if entry else {}
    old_cell = (entry.day, entry.survey_id, entry.touchpoint_id) if entry else new_cell
    if old_cell == new_cell:
        _upsert(session, new_cell, {k: new.get(k, 0) - old.get(k, 0) for k in set(new) | set(old)})
    else:
        _upsert(session, old_cell, {k: -v for k, v in old.items()})
        _upsert(session, new_cell, new)
    if entry is None:
        entry = RollupEntry(response_id=response.id, day=new_cell[0], survey_id=new_cell[1],
                            touchpoint_id=new_cell[2], contribution=new)
    else:
        entry.day, entry.survey_id, entry.touchpoint_id, entry.contribution = *new_cell, new
    session.add(entry)
    session.flush()


def invitation_cell(invitation: Invitation) -> Cell:
    """The cell an invitation counts in: the day it became usable."""
    return (_day(invitation.invited_at), invitation.survey_id, invitation.touchpoint_id or NO_TOUCHPOINT)


def record_invitation(session: Session, invitation: Invitation) -> None:
    """Count a new invitation (called once, where the invitation is created)."""
    _upsert(session, invitation_cell(invitation), {"invitations": 1})


_RESPONSE_COLUMNS = (Response.id, Response.survey_id, Response.touchpoint_id, Response.status, Response.nps,
                     Response.csat, Response.ces, Response.analysis, Response.mismatch, Response.completed_at,
                     Response.created_at)


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
    """Recompute every rollup (and every response's entry) from invitations and responses; returns cells."""
    session.flush()
    session.execute(delete(RollupEntry))
    session.execute(delete(Rollup))
    cells: dict[Cell, dict[str, float]] = defaultdict(lambda: dict.fromkeys(COUNT_COLUMNS, 0))
    invited_day = _utc_day(session, Invitation.invited_at)
    for day, survey_id, touchpoint_id, count in session.execute(
            select(invited_day, Invitation.survey_id, Invitation.touchpoint_id, func.count())
            .group_by(invited_day, Invitation.survey_id, Invitation.touchpoint_id)):
        day = day if isinstance(day, date) else date.fromisoformat(str(day))
        cells[(day, survey_id, touchpoint_id or NO_TOUCHPOINT)]["invitations"] += count
    entries: list[dict[str, Any]] = []
    for response in _response_rows(session):
        cell, contribution = response_cell(response), response_contribution(response)
        for key, value in contribution.items():
            cells[cell][key] += value
        entries.append({"response_id": response.id, "day": cell[0], "survey_id": cell[1],
                        "touchpoint_id": cell[2], "contribution": contribution})
        if len(entries) >= 2000:
            session.execute(RollupEntry.__table__.insert(), entries)
            entries = []
    if entries:
        session.execute(RollupEntry.__table__.insert(), entries)
    rows = [{**dict(zip(KEY_COLUMNS, cell, strict=True)), **values} for cell, values in cells.items()]
    for start in range(0, len(rows), 1000):
        session.execute(Rollup.__table__.insert(), rows[start:start + 1000])
    session.flush()
    return len(rows)
