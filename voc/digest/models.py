"""The digest's one table: a row per (user, ISO week) the digest was planned for, so that however many workers
plan it, each user gets one message a week."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from voc.db import UTCDateTime, utcnow


class DigestSend(SQLModel, table=True):
    __tablename__ = "digest_send"
    # The idempotency key: the planner's insert of a second row for the same user and week does nothing.
    __table_args__ = (UniqueConstraint("user_id", "week"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("dashboard_user.id", ondelete="CASCADE"),
                                          nullable=False))
    week: str = Field(max_length=8)  # the ISO week the digest covers, "2026-W48"
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    # Set by the sending job's claim (conditional update), cleared again if the server refused the message.
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
