"""API keys and dashboard users."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

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


class Role(StrEnum):
    """What a dashboard user may do: viewers read, analysts also work follow-ups, admins manage."""

    viewer = "viewer"
    analyst = "analyst"
    admin = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)


class User(SQLModel, table=True):
    __tablename__ = "dashboard_user"  # "user" is reserved in PostgreSQL
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, max_length=320)
    password_hash: str = Field(max_length=255)
    role: str = Field(default=Role.viewer, max_length=16)
    # Bumped at logout, role change and disabling: every cookie signed before it stops working.
    session_epoch: int = Field(default=0)
    # A disabled user cannot sign in and their sessions end at once; an admin may enable them again.
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Chosen on Settings › Users: the worker e-mails this user the weekly digest (voc.digest).
    weekly_digest: bool = Field(default=False)
