"""The rate_limit table: token buckets and sign-in failure counts shared by every process on PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Index
from sqlmodel import Field, SQLModel


class RateLimit(SQLModel, table=True):
    """One bucket (`tokens` left) or one sign-in key (`tokens` counts its failures), by key.

    Times are seconds since the epoch on the database's clock, not `_at` datetimes: the statements in
    voc.limits.postgres do their arithmetic on them in SQL, one statement per batch of decisions, and every
    process shares that one clock. A row whose `expires_epoch` has passed says nothing any more (a full bucket, a
    forgotten failure): the worker's housekeeping deletes it. UNLOGGED on PostgreSQL (migration 0015): a
    crash forgets the limits, which costs nothing worth the WAL."""

    __tablename__ = "rate_limit"
    __table_args__ = (Index("ix_rate_limit_expires_epoch", "expires_epoch"),)
    key: str = Field(primary_key=True, max_length=512)
    tokens: float
    updated_epoch: float
    expires_epoch: float
    # What the last batch of takes from this bucket was given, for the upsert to return (it sees only the new
    # row): how many of them took a token, and the wait the others were told (0 when none was refused).
    last_granted: int = 0
    last_wait: float = 0.0
