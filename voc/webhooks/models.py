"""Tables of the webhooks domain: endpoints, the messages sent to them, and every attempt."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from voc.crm import models as _crm_models  # noqa: F401 - webhook_endpoint.connection_id refers to its table
from voc.db import JSONType, UTCDateTime, utcnow


class MessageStatus(StrEnum):
    pending = "pending"  # not tried yet (new or replayed)
    failed = "failed"  # the last attempt failed; another is scheduled
    held = "held"  # the CRM refused the endpoint's credentials: kept, sent once they are replaced
    delivered = "delivered"
    dead = "dead"  # given up: listed for replay


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class WebhookEndpoint(SQLModel, table=True):
    """A receiver: where to send (method, URL template), which events, how to shape the body, how to sign it."""

    __tablename__ = "webhook_endpoint"
    id: int | None = Field(default=None, primary_key=True)
    # May hold {contact.external_id} and {contact.crm}, percent-encoded into each request (voc.webhooks.targets).
    url: str = Field(max_length=2048)
    method: str = Field(default="POST", max_length=8)
    event_types: list[str] = Field(default_factory=list, sa_type=JSONType)
    enabled: bool = Field(default=True)
    disabled_reason: str | None = Field(default=None, max_length=500)
    description: str = Field(default="", max_length=500)
    # {name: sealed value}: the CRM's own credentials, so values are encrypted like the secret.
    headers: dict[str, str] = Field(default_factory=dict, sa_type=JSONType)
    preset: str = Field(default="standard", max_length=64)
    template: str | None = Field(default=None, sa_type=Text)
    # The preset's settings (HubSpot id property and base URL, Salesforce external-id field...), defaults filled in.
    options: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    # No ON DELETE: a connection in use cannot be deleted (and SQLite could not show one added by ALTER TABLE).
    connection_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("crm_connection.id"), nullable=True))
    # Set when the CRM answered 401/403: deliveries are held (status "held") until the credentials change.
    credentials_rejected_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    credentials_rejected_reason: str | None = Field(default=None, max_length=1000)
    # The outcome of the last "set up the CRM's properties" run (HubSpot), shown in the settings.
    crm_setup_result: str | None = Field(default=None, max_length=1000)
    crm_setup_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Signing secrets must be usable for HMAC, so they cannot be hashed; they are sealed with a
    # key derived from VOC_SECRET_KEY (see sealing.py), so a copy of the database alone forges nothing.
    secret: str = Field(max_length=200)
    previous_secret: str | None = Field(default=None, max_length=200)
    previous_secret_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class WebhookMessage(SQLModel, table=True):
    """One event for one endpoint: a "delivery" in the API. Its msg_id is the webhook-id header."""

    __tablename__ = "webhook_message"
    __table_args__ = (
        Index("ix_webhook_message_endpoint_status_created", "endpoint_id", "status", "created_at"),
        # An event published twice (a job run again) yields one message per endpoint.
        UniqueConstraint("endpoint_id", "dedupe_key", name="uq_webhook_message_endpoint_dedupe"),
        # "Is an earlier message to this contact still on its way?", asked before every delivery.
        Index("ix_webhook_message_endpoint_order", "endpoint_id", "order_key", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    msg_id: str = Field(unique=True, max_length=40)
    endpoint_id: int = Field(sa_column=Column(Integer, ForeignKey("webhook_endpoint.id", ondelete="CASCADE"),
                                              nullable=False))
    event_type: str = Field(max_length=64)
    dedupe_key: str | None = Field(default=None, max_length=200)
    # The contact the message is about ("crm:external_id"): one endpoint gets a contact's messages in the
    # order they were published. None (tests, events about no one): no order to keep.
    order_key: str | None = Field(default=None, max_length=300)
    test: bool = Field(default=False)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)  # the standard body
    status: str = Field(default=MessageStatus.pending, max_length=16)
    # Attempts in the current round: a replay starts a new round (every attempt stays in webhook_attempt),
    # and each deliver job carries the count it expects, so a superseded job does nothing.
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status_code: int | None = Field(default=None)
    last_error: str | None = Field(default=None, max_length=1000)
    created_at: datetime = _created()
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookAttempt(SQLModel, table=True):
    """One request (or a refusal to send it): where it went, what came back and how long it took."""

    __tablename__ = "webhook_attempt"
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(sa_column=Column(Integer, ForeignKey("webhook_message.id", ondelete="CASCADE"),
                                             nullable=False, index=True))
    attempted_at: datetime = _created()
    method: str | None = Field(default=None, max_length=8)
    url: str | None = Field(default=None, max_length=4096)  # resolved: placeholders filled in
    status_code: int | None = Field(default=None)
    latency_ms: int | None = Field(default=None)
    response_snippet: str | None = Field(default=None, max_length=1024)  # first 1 KB of the answer
    error: str | None = Field(default=None, max_length=1000)
