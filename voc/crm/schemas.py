"""Shapes of CRM connections on the wire: what is given, and what is shown (never the secret or token)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from voc.crm.salesforce import API_VERSION


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


_DOMAIN_DOC = "the org's My Domain URL, like https://acme.my.salesforce.com (its token endpoint is there)"


class ConnectionCreate(_Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "Acme production", "my_domain_url": "https://acme.my.salesforce.com",
        "client_id": "3MVG9…consumer key", "client_secret": "the consumer secret"}]})

    kind: Literal["salesforce"] = "salesforce"
    name: Annotated[str, Field(min_length=1, max_length=200)]
    my_domain_url: Annotated[str, Field(min_length=1, max_length=2048, description=_DOMAIN_DOC)]
    client_id: Annotated[str, Field(min_length=1, max_length=500, description="the connected app's consumer key")]
    client_secret: Annotated[str, Field(min_length=1, max_length=500,
                                        description="the connected app's consumer secret; never shown again")]
    api_version: Annotated[str, Field(pattern=r"^v\d{2,3}\.\d$")] = API_VERSION


class ConnectionUpdate(_Strict):
    """Fields to change; new credentials drop the cached token and release deliveries held for the old ones."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"client_secret": "a new secret"}]})

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    my_domain_url: Annotated[str, Field(min_length=1, max_length=2048)] | None = None
    client_id: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    client_secret: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    api_version: Annotated[str, Field(pattern=r"^v\d{2,3}\.\d$")] | None = None


class ConnectionPublic(BaseModel):
    id: int
    kind: str
    name: str
    my_domain_url: str
    client_id_hint: str = Field(description="the start of the consumer key, to tell connected apps apart")
    api_version: str
    instance_url: str | None = Field(description="from the last token Salesforce gave")
    token_cached: bool
    token_issued_at: datetime | None
    created_at: datetime
    updated_at: datetime
