"""A site is a web property that embeds voc's widget, with its own identity secret and origins."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from voc.db import JSONType, UTCDateTime, utcnow


class Site(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=64)
    name: str = Field(max_length=200)
    # The identity-verification secret, sealed (voc must read it back to check signatures).
    secret_sealed: str = Field(max_length=500)
    # Origins allowed to frame the survey (Content-Security-Policy frame-ancestors).
    allowed_origins: list[str] = Field(default_factory=list, sa_type=JSONType)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)

    def __repr__(self) -> str:  # never print the sealed secret
        return f"Site(id={self.id!r}, key={self.key!r}, origins={self.allowed_origins!r})"
