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
    # The list pages newest first by (created_at, id): the index serves its order and its cursor.
    __table_args__ = (Index("ix_followup_created_at_id", "created_at", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    # Unique: one case per response, however often the analysis job runs.
    response_id: int = _fk("response.id", unique=True, ondelete="CASCADE")
    contact_id: int = _fk("contact.id")
    reason: str = Field(max_length=64)
    status: str = Field(default=FollowupStatus.open, max_length=16, index=True)
    assignee_id: int | None = _fk("dashboard_user.id", nullable=True, ondelete="SET NULL")
    created_at: datetime = _created()
    updated_at: datetime = _created()
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class FollowupNote(SQLModel, table=True):
    __tablename__ = "followup_note"
    id: int | None = Field(default=None, primary_key=True)
    followup_id: int = _fk("followup.id", ondelete="CASCADE")
    author_id: int | None = _fk("dashboard_user.id", nullable=True, ondelete="SET NULL")
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _created()
