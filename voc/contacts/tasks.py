"""After an erasure: empty SQLite's write-ahead log, so the erased words are not left in it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from voc.config import get_settings
from voc.jobs.queue import PRUNE_BATCH, RetryLater, housekeeper, job_handler
from voc.surveys.models import Answer, PartialResponse, Response

# What an analysis keeps once its words are gone: numbers the aggregates already hold.
KEPT_ANALYSIS = ("sentiment", "dimensions", "mismatch")

COMPACT_JOB = "contact.erased.compact"


@job_handler(COMPACT_JOB)
def compact_after_erasure(session: Session, payload: dict[str, Any]) -> None:
    """Checkpoint and truncate the WAL (SQLite; PostgreSQL vacuums its own dead rows)."""
    if session.get_bind().dialect.name != "sqlite":
        return
    # On a driver connection of its own, outside any transaction (a checkpoint cannot run inside one).
    connection = session.get_bind().raw_connection()
    try:
        busy, _log, _done = connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        connection.close()
    if busy:
        raise RetryLater("a reader kept the log busy; trying again", delay=5)


@housekeeper("text_retention")
def redact_old_text(session: Session, now: datetime) -> int:
    """Free text older than VOC_TEXT_RETENTION_DAYS (unset: kept): comments, text answers, the words of
    their analyses and abandoned partial answers are removed; scores, sentiment and dimensions stay."""
    days = get_settings().text_retention_days
    if not days:
        return 0
    before = now - timedelta(days=days)
    rows = session.execute(select(Response.id, Response.analysis).where(
        Response.completed_at < before, Response.comment.is_not(None)).limit(PRUNE_BATCH)).all()
    for response_id, analysis in rows:
        kept = {k: v for k, v in analysis.items() if k in KEPT_ANALYSIS} if analysis else None
        session.execute(update(Response).where(Response.id == response_id).values(comment=None, analysis=kept))
    if rows:
        session.execute(update(Answer).where(Answer.response_id.in_([r[0] for r in rows]), Answer.text.is_not(None))
                        .values(text=None).execution_options(synchronize_session=False))
    # Abandoned answers (the customer never sent them): cleared once (last_question_id marks them).
    partials = session.scalars(select(PartialResponse.id).where(
        PartialResponse.completed_at.is_(None), PartialResponse.updated_at < before,
        PartialResponse.last_question_id.is_not(None)).limit(PRUNE_BATCH)).all()
    if partials:
        session.execute(update(PartialResponse).where(PartialResponse.id.in_(partials))
                        .values(answers={}, last_question_id=None).execution_options(synchronize_session=False))
    return max(len(rows), len(partials))
