"""Housekeeping of the rate_limit table: rows that say nothing any more (full buckets, forgotten failures)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlmodel import Session

from voc.jobs.queue import PRUNE_BATCH, housekeeper
from voc.limits.models import RateLimit


@housekeeper("rate_limits")
def prune_expired_limits(session: Session, now: datetime) -> int:
    """Delete a batch of expired rows (a bucket refilled to its burst, a failure past its forgetting time)."""
    table = RateLimit.__table__
    keys = session.scalars(select(table.c.key).where(table.c.expires_epoch < now.timestamp())
                           .limit(PRUNE_BATCH)).all()
    if keys:
        session.execute(delete(table).where(table.c.key.in_(keys)))
    return len(keys)
