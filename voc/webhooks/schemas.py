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


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    """A request body's examples for the OpenAPI document (the strictness of Strict is kept: configs merge)."""
    return ConfigDict(json_schema_extra={"examples": list(examples)})


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


_URL_DOC = ("may hold {contact.external_id} and {contact.crm} in its path or query (percent-encoded when "
            "sent); a CRM preset builds it from `options` when left out")
_OPTIONS_DOC = ("the preset's settings: hubspot-contact-properties {base_url, id_property, create_missing}, "
                "salesforce-sobject {external_id_field}")


class EndpointCreate(Strict):
    model_config = _examples({"url": "https://crm.example.com/hooks/voc",
                              "event_types": ["response.completed", "contact.experience_updated"],
                              "description": "CRM write-back", "headers": {"X-Api-Key": "the receiver's key"},
                              "preset": DEFAULT_PRESET})

    url: Annotated[str, Field(min_length=1, max_length=2048, description=_URL_DOC)] | None = None
    method: Annotated[str, Field(description="POST, PUT or PATCH; default: the preset's (PATCH for CRM "
                                             "presets, else POST)")] | None = None
    event_types: list[str]
    description: Annotated[str, Field(max_length=500)] = ""
    headers: dict[str, str] = {}
    preset: str = DEFAULT_PRESET
    template: Annotated[str, Field(max_length=64 * 1024)] | None = None
    options: Annotated[dict[str, Any], Field(description=_OPTIONS_DOC)] = {}
    connection_id: Annotated[int, Field(ge=1, le=2**31 - 1, description="a Salesforce connection "
                                                                        "(POST /webhooks/connections)")] | None = None
    enabled: bool = True

    _event_types = field_validator("event_types")(_check_event_types)
    _headers = field_validator("headers")(_check_headers)


class EndpointUpdate(Strict):
    """Fields to change; `headers` merges (a null value removes that header), `template: null` drops it,
    `url: null` has a CRM preset build the URL again. New headers (or connection) release held deliveries."""

    model_config = _examples({"enabled": True},
                             {"event_types": ["response.analyzed"],
                              "headers": {"X-Api-Key": "a new key", "X-Old-Header": None}})

    url: Annotated[str, Field(min_length=1, max_length=2048)] | None = None
    method: str | None = None
    event_types: list[str] | None = None
    description: Annotated[str, Field(max_length=500)] | None = None
    headers: dict[str, str | None] | None = None
    preset: str | None = None
    template: Annotated[str, Field(max_length=64 * 1024)] | None = None
    options: dict[str, Any] | None = None
    connection_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    enabled: bool | None = None

    _event_types = field_validator("event_types")(_check_event_types)
    _headers = field_validator("headers")(_check_headers)


class EndpointPublic(BaseModel):
    id: int
    url: str = Field(description="the URL template; each delivery's attempts show the URL it resolved to")
    method: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    description: str
    headers: dict[str, str] = Field(description=f"custom header names; values are never shown ({MASK})")
    preset: str
    template: str | None
    options: dict[str, Any]
    connection_id: int | None
    credentials_rejected_at: datetime | None = Field(
        description="when the CRM refused the credentials (401/403); deliveries are held until they are replaced")
    credentials_rejected_reason: str | None
    crm_setup_result: str | None = Field(description="the outcome of the last CRM property setup")
    crm_setup_at: datetime | None
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointPublic):
    secret: str = Field(description="the signing secret, shown this once")


class RotateSecretIn(Strict):
    model_config = _examples({"grace_hours": 24})

    grace_hours: Annotated[float, Field(ge=0, le=24 * 7)] = 24.0


class SecretRotated(BaseModel):
    id: int
    secret: str = Field(description="the new signing secret, shown this once")
    previous_secret_expires_at: datetime | None = Field(
        description="until then the old secret signs too, so receivers can switch over")


class TestEventIn(Strict):
    __test__ = False  # not a pytest class
    model_config = _examples({"event_type": "response.completed"})

    event_type: str | None = None
    external_id: Annotated[str, Field(min_length=1, max_length=200, description=(
        "send the sample about this contact instead of the sample's (a real CRM record, to check the "
        "connection end to end)"))] | None = None
    crm: Annotated[str, Field(min_length=1, max_length=64)] | None = None

    @field_validator("event_type")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        return _check_event_types([value])[0] if value is not None else None


class AttemptPublic(BaseModel):
    attempted_at: datetime
    method: str | None = Field(description="the request's method; null when nothing was sent")
    url: str | None = Field(description="the resolved URL the request went to")
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
    model_config = _examples({"since": "2026-01-31T00:00:00Z"})

    since: AwareDatetime = Field(description="replay dead deliveries created at or after this time")


class ReplayResult(BaseModel):
    replayed: int
    deliveries: list[str]
