"""Tables of the CRM domain: connections that hold a CRM's own credentials (Salesforce OAuth)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from voc.db import UTCDateTime, utcnow


class CrmConnection(SQLModel, table=True):
    """A Salesforce org reached through a connected app's client-credentials flow.

    The client secret and the cached access token are sealed (voc.webhooks.sealing) like webhook
    secrets: voc must send them, so they cannot be hashed."""

    __tablename__ = "crm_connection"
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default="salesforce", max_length=32)
    name: str = Field(max_length=200)
    # The org's My Domain URL (https://acme.my.salesforce.com): the token endpoint lives there.
    login_url: str = Field(max_length=2048)
    client_id: str = Field(max_length=500)
    client_secret: str = Field(max_length=1000)  # sealed
    api_version: str = Field(default="v62.0", max_length=16)
    access_token: str | None = Field(default=None, max_length=4000)  # sealed; refreshed on 401
    instance_url: str | None = Field(default=None, max_length=2048)  # from the token answer
    token_issued_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
