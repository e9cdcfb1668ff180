"""The explorer's CSV: exactly the filtered responses, streamed from one query in batches."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine, Row
from sqlmodel import Session

from voc.db import reading
from voc.explore.service import ResponseFilters, filtered_query, in_explorer_order, rows_by_id
from voc.sentiment.model import DIMENSIONS, sentiment_label
from voc.surveys.models import Contact, Response, Survey, Touchpoint

BATCH_SIZE = 1000
COLUMNS = ["response_id", "completed_at", "survey", "touchpoint", "contact_external_id", "crm", "nps", "csat",
           "ces", "comment", "sentiment", "label", "themes", "mismatch",
           *(f"{name}_valence" for name in DIMENSIONS)]
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str | None) -> str:
    """Text a spreadsheet will not run as a formula (OWASP: prefix a quote)."""
    if not value:
        return ""
    # Spreadsheets skip leading blanks before deciding a cell is a formula: " =1+1" and "\n=cmd" run too.
    return "'" + value if value.startswith(_FORMULA_STARTS) or value.lstrip().startswith(_FORMULA_STARTS) else value


def _number(value: Any) -> str:
    return "" if value is None else str(value)


def _valence_cell(value: float | str | None) -> str:
    """A dimension's valence as the analysis holds it: SQLite extracts the JSON number as a number (an int stays
    an int), PostgreSQL as its text, written as decoding the JSON would write it."""
    if value is None:
        return ""
    if isinstance(value, str) and any(mark in value for mark in ".eE"):
        return str(float(value))
    return str(value)


def _exported(dialect: str) -> tuple[Any, ...]:
    """What the CSV reads of a response and its contact, in csv_row's order: columns alone (no ORM objects),
    and of the analysis only the parts it shows (decoding each analysis whole, spans and all, was most of an
    export's time)."""
    if dialect == "postgresql":
        valences = [Response.analysis[("dimensions", name, "valence")].as_string() for name in DIMENSIONS]
    else:
        valences = [func.json_extract(Response.analysis, f"$.dimensions.{name}.valence") for name in DIMENSIONS]
    return (Response.id, Response.completed_at, Response.survey_id, Response.touchpoint_id, Contact.external_id,
            Contact.crm, Response.nps, Response.csat, Response.ces, Response.comment, Response.sentiment,
            Response.analysis[("sentiment", "label")].as_string(), Response.analysis["themes"], Response.mismatch,
            *valences)


def csv_row(row: Sequence[Any], survey_key: str | None, touchpoint_key: str | None) -> list[str]:
    """One exported row (_exported's columns) as CSV cells; text from customers and CRMs is guarded, numbers
    are written as numbers."""
    (ident, completed_at, _survey_id, _touchpoint_id, external_id, crm, nps, csat, ces, comment, sentiment, label,
     themes, mismatch, *valences) = row
    if not label and sentiment is not None:
        label = sentiment_label(sentiment)
    return [
        str(ident),
        completed_at.isoformat() if completed_at else "",
        safe_cell(survey_key),
        safe_cell(touchpoint_key),
        safe_cell(external_id),
        safe_cell(crm),
        _number(nps), _number(csat), _number(ces),
        safe_cell(comment),
        _number(sentiment),
        safe_cell(label),
        safe_cell(";".join(t for t in themes or [] if isinstance(t, str))),
        "" if mismatch is None else ("true" if mismatch else "false"),
        *map(_valence_cell, valences),
    ]


def exported_batches(session: Session, filters: ResponseFilters, *, batch_size: int = BATCH_SIZE,
                     now: datetime | None = None) -> Iterator[Sequence[Row]]:
    """The matching responses with their contacts, in the explorer's order (newest first, or most negative first),
    from one query read `batch_size` rows at a time.

    One sort whatever the size (a keyset query per batch sorted the whole table again for every batch):
    PostgreSQL sends the rows through a server-side cursor and SQLite steps its statement as rows are
    fetched, so memory stays flat. The session's read transaction lasts as long as the export."""
    exported = _exported(session.get_bind().dialect.name)
    query = in_explorer_order(filtered_query(session, filters, now)
                              .with_only_columns(*exported, maintain_column_froms=True)
                              .outerjoin(Contact, Contact.id == Response.contact_id), filters)
    query = query.execution_options(yield_per=batch_size)
    yield from session.execute(query).partitions()


def csv_chunks(engine: Engine, filters: ResponseFilters, *, now: datetime | None = None,
               batch_size: int = BATCH_SIZE) -> Iterator[str]:
    """The CSV text, a header then one chunk per batch, read in its own session (it outlives the request)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def drain() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(COLUMNS)
    yield drain()
    with Session(reading(engine)) as session:
        # Surveys and touchpoints are few: their keys are kept, looked up as new ids appear.
        surveys: dict[int, str] = {}
        touchpoints: dict[int, str] = {}
        for batch in exported_batches(session, filters, batch_size=batch_size, now=now):
            surveys.update(_keys(session, Survey, {r.survey_id for r in batch} - surveys.keys()))
            touchpoints.update(_keys(session, Touchpoint, {r.touchpoint_id for r in batch} - touchpoints.keys()))
            writer.writerows(csv_row(row, surveys.get(row.survey_id), touchpoints.get(row.touchpoint_id))
                             for row in batch)
            yield drain()


def _keys(session: Session, model: Any, ids: set[int | None]) -> dict[int, str]:
    """The keys of the `model` rows with these ids, by id."""
    return {row.id: row.key for row in rows_by_id(session, model, ids).values()}
