"""Shapes of the embed domain on the wire: sites (with their secret, shown once) and widget decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from voc.surveys.schemas import KEY_PATTERN

ANONYMOUS_ID_PATTERN = r"^[A-Za-z0-9_\-]{16,64}$"
Origins = list[Annotated[str, Field(min_length=1, max_length=300)]]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    """A request body's examples for the OpenAPI document (the strictness of Strict is kept: configs merge)."""
    return ConfigDict(json_schema_extra={"examples": list(examples)})


class SiteCreate(Strict):
    model_config = _examples({"key": "shop", "name": "Web shop",
                              "allowed_origins": ["https://shop.example.com", "https://www.shop.example.com"]})

    key: Annotated[str, Field(pattern=KEY_PATTERN)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    allowed_origins: Origins


class SiteUpdate(Strict):
    model_config = _examples({"allowed_origins": ["https://shop.example.com"]}, {"name": "Web shop (EU)"})

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    allowed_origins: Origins | None = None


class SitePublic(BaseModel):
    key: str
    name: str
    allowed_origins: list[str]
    created_at: datetime
    updated_at: datetime


class SiteCreated(SitePublic):
    secret: str  # the identity-verification secret, shown this once


class SiteSecretRotated(BaseModel):
    key: str
    secret: str  # the new secret, shown this once; the old one stops working at once


class DecisionIn(BaseModel):
    """What the widget asks: may this survey show to this visitor now? (Unknown fields are ignored, so an
    older server still answers a newer loader.)"""

    model_config = _examples({"survey": "post_visit", "contact": "CUS-00042",
                              "signature": "hex HMAC-SHA256 of CUS-00042 under the site secret"})

    survey: Annotated[str, Field(pattern=KEY_PATTERN)]
    # The CRM's external id and the company backend's hex HMAC-SHA256 of it under the site secret.
    contact: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    signature: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    # The browser's anonymous visitor id from an earlier answer (anonymous surveys only); a malformed
    # one is replaced rather than refused.
    anonymous_id: Annotated[str, Field(max_length=200)] | None = None


class DecisionOut(BaseModel):
    """The answer: show (with the survey's address) or not, and why not."""

    show: bool
    reason: str | None = None
    survey: str | None = None
    title: str | None = None
    url: str | None = None
    expires_at: datetime | None = None
    # Set for anonymous visitors: the widget keeps it (localStorage) so fatigue rules apply per browser.
    anonymous_id: str | None = None
