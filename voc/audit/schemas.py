"""The audit log as the API and the dashboard show it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AuditEntryPublic(BaseModel):
    id: int
    at: datetime
    actor_kind: str = Field(description="`user` (dashboard), `api_key`, `cli`, or `anonymous` (a failed sign-in)")
    actor_id: int | None = Field(description="the user's or API key's id")
    actor_label: str = Field(description="the user's e-mail address, the key's name, or `cli`")
    action: str = Field(description="e.g. `survey.updated`, `api_key.revoked`, `user.sign_in_failed`")
    object_kind: str
    object_key: str
    address: str | None = Field(description="the client's address")
    before: dict[str, Any] | None = Field(description="the object's state before, secrets left out")
    after: dict[str, Any] | None = Field(description="the object's state after, secrets left out")


class AuditPage(BaseModel):
    items: list[AuditEntryPublic]
    next_cursor: str | None
