"""API keys (and, later, dashboard users)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from voc.db import JSONType, UTCDateTime, utcnow


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    prefix: str = Field(unique=True, max_length=16)  # public part, to find the row
    secret_hash: str = Field(max_length=64)  # SHA-256 of the high-entropy secret part
    scopes: list[str] = Field(default_factory=list, sa_type=JSONType)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
