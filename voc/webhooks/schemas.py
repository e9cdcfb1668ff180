"""Shapes of the webhooks domain on the wire: endpoints, secrets, deliveries and their attempts."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from voc.webhooks.mapping import DEFAULT_PRESET
from voc.webhooks.samples import EVENT_TYPES

MAX_HEADERS = 20
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
# voc sets these itself: a custom header must not forge a signature or break the framing.
_RESERVED_HEADERS = {"host", "content-length", "content-type", "transfer-encoding", "connection", "te",
                     "upgrade", "expect"}
MASK = "********"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_event_types(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    unknown = [t for t in value if t not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"unknown event types {unknown}; choose from {', '.join(EVENT_TYPES)}")
    if not value:
        raise ValueError("subscribe to at least one event type")
    return list(dict.fromkeys(value))


def _check_headers(value: dict[str, str | None] | None) -> dict[str, str | None] | None:
    if value is None:
        return None
    if len(value) > MAX_HEADERS:
        raise ValueError(f"at most {MAX_HEADERS} custom headers")
    seen: set[str] = set()
    for name, header_value in value.items():
        lowered = name.lower()
        if not _HEADER_NAME.match(name):
            raise ValueError(f"{name!r} is not a valid header name")
        if lowered in _RESERVED_HEADERS or lowered.startswith("webhook-"):
            raise ValueError(f"{name} is set by voc and cannot be a custom header")
        if lowered in seen:
            raise ValueError(f"{name} is given twice")
        seen.add(lowered)
        if header_value is not None and (len(header_value) > 4096 or any(c in header_value for c in "\r\n\0")):
            raise ValueError(f"the value of {name} is too long or holds a line break")
    return value


class EndpointCreate(Strict):
    url: Annotated[str, Field(min_length=1, max_length=2048)]
    event_types: list[str]
    description: Annotated[str, Field(max_length=500)] = ""
    headers: dict[str, str] = {}
    preset: str = DEFAULT_PRESET
    template: Annotated[str, Field(max_length=64 * 1024)] | None = None
    enabled: bool = True

    _event_types = field_validator("event_types")(_check_event_types)
    _headers = field_validator("headers")(_check_headers)


class EndpointUpdate(Strict):
    """Fields to change; `headers` merges (a null value removes that header), `template: null` drops it."""

    url: Annotated[str, Field(min_length=1, max_length=2048)] | None = None
    event_types: list[str] | None = None
    description: Annotated[str, Field(max_length=500)] | None = None
    headers: dict[str, str | None] | None = None
    preset: str | None = None
    template: Annotated[str, Field(max_length=64 * 1024)] | None = None
    enabled: bool | None = None

    _event_types = field_validator("event_types")(_check_event_types)
    _headers = field_validator("headers")(_check_headers)


class EndpointPublic(BaseModel):
    id: int
    url: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    description: str
    headers: dict[str, str] = Field(description=f"custom header names; values are never shown ({MASK})")
    preset: str
    template: str | None
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointPublic):
    secret: str = Field(description="the signing secret, shown this once")


class RotateSecretIn(Strict):
    grace_hours: Annotated[float, Field(ge=0, le=24 * 7)] = 24.0


class SecretRotated(BaseModel):
    id: int
    secret: str = Field(description="the new signing secret, shown this once")
    previous_secret_expires_at: datetime | None = Field(
        description="until then the old secret signs too, so receivers can switch over")


class TestEventIn(Strict):
    __test__ = False  # not a pytest class
    event_type: str | None = None

    @field_validator("event_type")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        return _check_event_types([value])[0] if value is not None else None


class AttemptPublic(BaseModel):
    attempted_at: datetime
    status_code: int | None
    latency_ms: int | None
    response_snippet: str | None
    error: str | None


class DeliveryPublic(BaseModel):
    id: str = Field(description="the message id, sent as the webhook-id header")
    endpoint_id: int
    event_type: str
    status: str
    test: bool
    payload: dict[str, Any]
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    attempts: list[AttemptPublic]


class DeliveryPage(BaseModel):
    items: list[DeliveryPublic]
    next_cursor: str | None


class ReplayDeadIn(Strict):
    since: AwareDatetime = Field(description="replay dead deliveries created at or after this time")


class ReplayResult(BaseModel):
    replayed: int
    deliveries: list[str]
