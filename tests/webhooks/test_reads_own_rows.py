"""The work every answer sets off reads only its own rows.

The answer's job (analysis, rollups, the webhook events, a follow-up case) and each of its webhooks'
deliveries reach every table that grows with traffic through an index that finds their rows by its leading
column: no statement reads a whole table or a whole index, a cost that would grow with every answer ever
stored until the worker falls behind. Every statement they run is captured at the driver and its plan asked
of PostgreSQL with sequential scans priced out (enable_seqscan off), so a test table small enough to scan
cheaply is not scanned for that reason alone: what is left is what no index can answer."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from sqlalchemy import select
from sqlmodel import Session

from tests import factories as f
from voc.jobs.models import Job, JobStatus
from voc.surveys.responses import submit_response
from voc.surveys.tasks import follow_completed_response
from voc.webhooks.delivery import Outcome, load_deliveries, record
from voc.webhooks.samples import EVENT_TYPES

# Tables with a row (or several) per event, invitation, answer or delivery.
GROWING = {"event", "contact", "invitation", "response", "answer", "rollup_entry", "followup", "job",
           "webhook_message", "webhook_attempt"}


@contextmanager
def _statements() -> Iterator[list[tuple[type, str, Any]]]:
    """Every statement run through psycopg meanwhile (the ORM's and voc.db.Prepared's): cursor class, SQL,
    parameters (the first set of an executemany)."""
    seen: list[tuple[type, str, Any]] = []
    execute, executemany = psycopg.Cursor.execute, psycopg.Cursor.executemany

    def recording_execute(cursor, query, params=None, **kwargs):  # noqa: ANN001, ANN202
        seen.append((type(cursor), query, params))
        return execute(cursor, query, params, **kwargs)

    def recording_executemany(cursor, query, params_seq, **kwargs):  # noqa: ANN001, ANN202
        params_seq = list(params_seq)
        seen.append((type(cursor), query, params_seq[0] if params_seq else None))
        return executemany(cursor, query, params_seq, **kwargs)

    psycopg.Cursor.execute, psycopg.Cursor.executemany = recording_execute, recording_executemany
    try:
        yield seen
    finally:
        psycopg.Cursor.execute, psycopg.Cursor.executemany = execute, executemany


def _whole_reads(session: Session, statements: list[tuple[type, str, Any]]) -> list[str]:
    """Each plan step that reads a growing table whole or walks a whole index on it (_steps_reading_whole),
    with its statement."""
    raw = session.connection().connection.dbapi_connection
    with raw.cursor() as cursor:
        cursor.execute("SELECT c.relname, t.relname, a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                       " JOIN pg_class t ON t.oid = i.indrelid"
                       " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]")
        leading = {index: (table, column) for index, table, column in cursor.fetchall()}
        cursor.execute("SET LOCAL enable_seqscan = off")
    found: list[str] = []
    for cursor_class, query, params in statements:
        sql = query.decode() if isinstance(query, bytes) else str(query)
        if not sql.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")):
            continue
        with cursor_class(raw) as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        found += [f"{step}: {sql[:200]}" for step in _steps_reading_whole(plan[0]["Plan"], leading)]
    return found


def _steps_reading_whole(node: dict[str, Any], leading: dict[str, tuple[str, str]]) -> Iterator[str]:
    """A sequential scan of a growing table; an index scan whose condition leaves out the index's leading
    column; an index scan with no condition (walked whole, in order) whose filter no index on the table could
    have answered. The last is also how the planner avoids a sort on a table it believes tiny (stale
    statistics), which is no fault of the statement when an index for the filter exists."""
    kind, index = node["Node Type"], node.get("Index Name")
    if kind == "Seq Scan" and node.get("Relation Name") in GROWING:
        yield f"Seq Scan on {node['Relation Name']}"
    if index in leading and leading[index][0] in GROWING:
        table, column = leading[index]
        condition = node.get("Index Cond")
        if condition is not None and not _names(column, condition):
            yield f"{kind} using {index} without {column} ({condition})"
        if condition is None and not any(_names(other, node.get("Filter", ""))
                                         for other_table, other in leading.values() if other_table == table):
            yield f"{kind} using {index}, whole, for a filter no index answers ({node.get('Filter')})"
    for child in node.get("Plans", ()):
        yield from _steps_reading_whole(child, leading)


def _names(column: str, expression: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(column)}\b", expression) is not None


def _answer(session: Session, n: int, score: int) -> int:
    url = f.event(session, f"e-{n}", contact=f"c-{n}").invitation.url
    return submit_response(session, f.token_of(url), [("nps", score), ("why", "The box came dented, sadly.")]).id


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_an_answers_job_and_its_deliveries_read_only_their_own_rows(engine, make_endpoint, run_jobs):
    make_endpoint(event_types=list(EVENT_TYPES))
    with Session(engine) as session:
        f.touchpoint(session)
        f.survey(session, recontact_days=0)
        _answer(session, 0, score=1)
        session.commit()
    run_jobs()  # an earlier answer: analysed, counted, delivered, a follow-up case opened
    with Session(engine) as session:
        response_id = _answer(session, 1, score=2)  # a detractor: a follow-up case too
        session.commit()

    with Session(engine) as session, _statements() as job_statements:
        follow_completed_response(session, {"response_id": response_id})
        session.commit()
    with Session(engine) as session:
        payloads = [dict(payload) for payload in session.scalars(
            select(Job.payload).where(Job.kind == "webhook.deliver", Job.status == JobStatus.queued))]
    assert len(payloads) >= 3  # response.completed, response.analyzed, contact.experience_updated (and the case)
    with Session(engine) as session, _statements() as delivery_statements:
        for payload in sorted(payloads, key=lambda p: p["message_id"]):  # one contact's: each waits for the one before
            [delivery] = load_deliveries(session, [payload])
            assert record(session, delivery, Outcome("delivered", status_code=204, latency_ms=3)) == "delivered"
        session.commit()

    assert len(job_statements) > 10 and len(delivery_statements) > 3 * len(payloads)  # (the capture works)
    with Session(engine) as session:
        assert _whole_reads(session, job_statements) == []
        assert _whole_reads(session, delivery_statements) == []
