"""The audit log's one table: who changed what, when and from where. Rows are only ever inserted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from voc.db import JSONType, UTCDateTime, utcnow


class AuditEntry(SQLModel, table=True):
    """One recorded action; `before`/`after` hold the object's state with secrets left out (see redact)."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_at", "at"), Index("ix_audit_entry_object", "object_kind", "object_key"))
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    actor_kind: str = Field(max_length=16)  # user | api_key | cli | anonymous
    actor_id: int | None = Field(default=None)
    actor_label: str = Field(max_length=320)  # an e-mail address, a key's name, "cli"
    action: str = Field(max_length=64)  # survey.updated, user.sign_in_failed, …
    object_kind: str = Field(max_length=32)
    object_key: str = Field(max_length=400)
    address: str | None = Field(default=None, max_length=64)
    before: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
