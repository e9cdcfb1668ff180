"""Tables of the follow-ups domain: one case per response that needs a human, and its notes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer, Text
from sqlmodel import Field, SQLModel

from voc.db import UTCDateTime, utcnow


class FollowupStatus(StrEnum):
    """A case moves open → in_progress → resolved (and may be reopened)."""

    open = "open"
    in_progress = "in_progress"
    resolved = "resolved"


def _fk(target: str, *, nullable: bool = False, unique: bool = False, ondelete: str | None = None,
        index: bool = True) -> Any:
    return Field(default=None, sa_column=Column(Integer, ForeignKey(target, ondelete=ondelete), nullable=nullable,
                                                unique=unique or None, index=index and not unique))


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Followup(SQLModel, table=True):
    # The queue pages by (priority_key, id), (due_at, id) or (created_at, id): each index serves one order
    # and its cursor, so a page of 50 costs the same out of any number of cases.
    __table_args__ = (Index("ix_followup_created_at_id", "created_at", "id"),
                      Index("ix_followup_priority_key_id", "priority_key", "id"),
                      Index("ix_followup_due_at_id", "due_at", "id"))
    id: int | None = Field(default=None, primary_key=True)
    # Unique: one case per response, however often the analysis job runs.
    response_id: int = _fk("response.id", unique=True, ondelete="CASCADE")
    contact_id: int = _fk("contact.id")
    # The response's touchpoint, copied so the queue filters on it without a join.
    touchpoint_id: int | None = _fk("touchpoint.id", nullable=True)
    reason: str = Field(max_length=64)
    status: str = Field(default=FollowupStatus.open, max_length=16, index=True)
    assignee_id: int | None = _fk("dashboard_user.id", nullable=True, ondelete="SET NULL")
    created_at: datetime = _created()
    updated_at: datetime = _created()
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The priority it had at voc.followups.priority.REFERENCE: sorting on it is sorting on priority now.
    priority_key: float = Field(default=0.0)
    # When it must be resolved (opened + its touchpoint's SLA hours, or the workspace's); later it is overdue.
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class FollowupNote(SQLModel, table=True):
    __tablename__ = "followup_note"
    id: int | None = Field(default=None, primary_key=True)
    followup_id: int = _fk("followup.id", ondelete="CASCADE")
    author_id: int | None = _fk("dashboard_user.id", nullable=True, ondelete="SET NULL")
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _created()
