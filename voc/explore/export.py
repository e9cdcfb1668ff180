"""The explorer's CSV: exactly the filtered responses, streamed in keyset-paged batches."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from voc.db import reading
from voc.explore.service import ResponseFilters, iter_batches, rows_by_id
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


def csv_row(response: Response, survey: Survey | None, touchpoint: Touchpoint | None,
            contact: Contact | None) -> list[str]:
    """One response as CSV cells; text from customers and CRMs is guarded, numbers are written as numbers."""
    analysis = response.analysis or {}
    sentiment = response.sentiment
    label = (analysis.get("sentiment") or {}).get("label") or (sentiment_label(sentiment)
                                                               if sentiment is not None else None)
    dimensions = analysis.get("dimensions") or {}
    return [
        str(response.id),
        response.completed_at.isoformat() if response.completed_at else "",
        safe_cell(survey.key if survey else None),
        safe_cell(touchpoint.key if touchpoint else None),
        safe_cell(contact.external_id if contact else None),
        safe_cell(contact.crm if contact else None),
        _number(response.nps), _number(response.csat), _number(response.ces),
        safe_cell(response.comment),
        _number(sentiment),
        safe_cell(label),
        safe_cell(";".join(t for t in analysis.get("themes") or [] if isinstance(t, str))),
        "" if response.mismatch is None else ("true" if response.mismatch else "false"),
        *(_number((dimensions.get(name) or {}).get("valence")) for name in DIMENSIONS),
    ]


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
    with Session(reading(engine), expire_on_commit=False) as session:
        surveys: dict[int, Survey] = {}
        touchpoints: dict[int, Touchpoint] = {}
        for batch in iter_batches(session, filters, batch_size=batch_size, now=now):
            # Surveys and touchpoints are few: keep them; contacts are many: load per batch.
            surveys.update(rows_by_id(session, Survey, {r.survey_id for r in batch} - surveys.keys()))
            touchpoints.update(rows_by_id(session, Touchpoint, {r.touchpoint_id for r in batch} - touchpoints.keys()))
            contacts = rows_by_id(session, Contact, {r.contact_id for r in batch})
            for response in batch:
                writer.writerow(csv_row(response, surveys.get(response.survey_id),
                                        touchpoints.get(response.touchpoint_id), contacts.get(response.contact_id)))
            yield drain()
