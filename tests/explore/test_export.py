"""The explorer's CSV on SQLite and PostgreSQL: customers' and CRMs' text never runs as a spreadsheet formula."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import event

from tests.explore.helpers import respond, setup_surveys
from voc.explore.export import csv_chunks, safe_cell
from voc.explore.service import ResponseFilters

# Each starts a formula once a spreadsheet skips the blanks before it, or is a tab or carriage return.
TRICKY = [" =1+1", "\n=cmd", "\t@x", "  +1", "\r-2", "@SUM(A1)"]


def _rows(engine) -> list[dict[str, str]]:
    text = "".join(csv_chunks(engine, ResponseFilters(period="30d")))
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("text", TRICKY)
def test_a_formula_after_blanks_is_defused(text):
    assert safe_cell(text) == "'" + text


def test_plain_text_and_blanks_are_left_alone():
    for harmless in ("fine", "a = b", "5 stars", "   ", " x-1", "e-mail@example.com"):
        assert safe_cell(harmless) == harmless
    assert safe_cell(None) == "" and safe_cell("") == ""


def test_export_defuses_comments_and_crm_text_but_keeps_negative_numbers(engine, session, run_jobs):
    setup_surveys(session)
    made = {}
    for n, text in enumerate(TRICKY):
        made[respond(session, [("nps", 1), ("why", f"{text} terrible, awful, rude and late")],
                     contact=text + f"-{n}", crm=" =crm").id] = text
    run_jobs()
    rows = _rows(engine)
    assert sorted(int(r["response_id"]) for r in rows) == sorted(made)
    for row in rows:
        text = made[int(row["response_id"])]
        assert row["comment"].startswith("'" + text), row["comment"]
        assert row["contact_external_id"].startswith("'" + text) and row["crm"] == "' =crm"
        # A sentiment score is a number, written as one: a spreadsheet must still read -0.6 as -0.6.
        assert float(row["sentiment"]) < 0 and not row["sentiment"].startswith("'")


def test_export_streams_every_row_from_one_query_read_batch_by_batch(engine, session, run_jobs):
    """A large export sorts its rows once and sends them as they are read: one query for every row (not one
    per batch, each sorting the table again), read through a server-side cursor on PostgreSQL, and each
    batch is on its way before the next is read."""
    setup_surveys(session)
    made = [respond(session, [("nps", n), ("why", f"Parcel number {n} came late")], contact=f"CUS-{n}",
                    days_ago=n + 1).id for n in range(5)]
    run_jobs()
    queries = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "FROM response" in statement:
            queries.append(cursor)

    event.listen(engine, "before_cursor_execute", note)
    try:
        chunks = csv_chunks(engine, ResponseFilters(period="30d"), batch_size=2)
        assert next(chunks).startswith("response_id,")
        first = next(chunks)
        assert len(queries) == 1 and first.count("\r\n") == 2  # the first batch is out, 3 rows still unread
        rest = list(chunks)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert [chunk.count("\r\n") for chunk in rest] == [2, 1]
    rows = list(csv.reader(io.StringIO(first + "".join(rest), newline="")))
    assert [int(row[0]) for row in rows] == made  # newest first, each once
    assert len(queries) == 1
    if engine.dialect.name == "postgresql":
        assert queries[0].name  # a named cursor: PostgreSQL keeps the rows and sends each batch when asked
