"""The explorer's CSV on SQLite and PostgreSQL: customers' and CRMs' text never runs as a spreadsheet formula."""

from __future__ import annotations

import csv
import io

import pytest

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
