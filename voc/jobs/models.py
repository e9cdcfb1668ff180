"""The durable job table: the outbox every cross-system state change is written to."""

from __future__ import annotations

from collections import namedtuple
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from voc.db import JSONType, UTCDateTime, utcnow


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    dead = "dead"


class Job(SQLModel, table=True):
    __table_args__ = (Index("ix_job_status_run_at", "status", "run_at"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=64)
    # The lane it runs on (one webhook endpoint): a worker whose lane is full claims none of its jobs.
    lane: str | None = Field(default=None, max_length=160)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    status: str = Field(default=JobStatus.queued, max_length=16)
    attempts: int = Field(default=0)
    max_attempts: int = Field(default=8)
    run_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    locked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    locked_by: str | None = Field(default=None, max_length=128)
    last_error: str | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# A claimed job as the worker holds it: the row's values, read-only, in the table's column order (a claim
# returns whole rows). No ORM object: a worker claims jobs all day, and never writes through one.
ClaimedJob = namedtuple("ClaimedJob", [column.key for column in Job.__table__.columns])  # noqa: PYI024
