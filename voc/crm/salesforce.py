"""Salesforce REST API: the Contact fields voc writes, the OAuth 2.0 client-credentials token, and what
Salesforce's answers mean.

Assumptions, from Salesforce's REST API and OAuth documentation:
- Token: `POST {My Domain}/services/oauth2/token` with the form `grant_type=client_credentials&client_id=…
  &client_secret=…` (the connected app has the client-credentials flow enabled and a run-as user). The
  answer is JSON `{access_token, instance_url, id, token_type: "Bearer", issued_at, signature}`, with no
  expiry: the session lasts the org's session timeout, so voc refreshes on a 401 INVALID_SESSION_ID.
  A refusal is 400/401 `{"error": "invalid_client" | "invalid_grant" | …, "error_description"}`.
- Upsert by external id: `PATCH {instance_url}/services/data/v62.0/sobjects/Contact/{field}/{value}` with a
  flat JSON object of fields (not the external-id field itself). 200/204 updated, 201 created. An upsert
  that would create a Contact without LastName fails 400 REQUIRED_FIELD_MISSING; voc never sends names,
  so that answer means "no such contact". A missing field or object is 404 NOT_FOUND, several matches 300.
- Errors are a JSON list `[{"errorCode", "message", "fields"?}]`: 401 INVALID_SESSION_ID (expired or
  revoked token), 403 REQUEST_LIMIT_EXCEEDED (the org's daily API limit: try later) or 403 for missing
  permissions, 503 SERVER_UNAVAILABLE.
- Value formats: Number fields take JSON numbers, Checkbox true/false, Date/Time ISO 8601 UTC with
  milliseconds, Picklist one of its values, Text up to its length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from voc.crm.http import Verdict, call, error_text, json_body
from voc.crm.values import Blank, blank_all, contact_values, iso_millis, parse_moment
from voc.webhooks.ssrf import UnsafeUrlError

API_VERSION = "v62.0"
DEFAULT_EXTERNAL_ID_FIELD = "Voc_External_Id__c"
FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")
API_VERSION_PATTERN = re.compile(r"^v\d{2,3}\.\d$")
INSTANCE_URL = "{salesforce.instance_url}"


@dataclass(frozen=True)
class SfField:
    """A custom Contact field voc writes: its API name, voc's name for the value, and its type."""

    api_name: str
    source: str  # the key in voc.crm.values
    kind: str  # number | picklist | checkbox | datetime | text | longtext | url
    setup: str  # what to create in Setup → Object Manager → Contact → Fields
    values: tuple[str, ...] = ()
    length: int = 255


def _f(api_name: str, source: str, kind: str, setup: str, *values: str, length: int = 255) -> SfField:
    return SfField(api_name, source, kind, setup, values, length)


FIELDS: tuple[SfField, ...] = (
    _f("Voc_Last_NPS__c", "voc_last_nps", "number", "Number(2, 0)"),
    _f("Voc_NPS_Category__c", "voc_nps_category", "picklist", "Picklist: Promoter, Passive, Detractor",
       "Promoter", "Passive", "Detractor"),
    _f("Voc_CSAT__c", "voc_csat", "number", "Number(1, 2)"),
    _f("Voc_CES__c", "voc_ces", "number", "Number(1, 2)"),
    _f("Voc_Last_CSAT__c", "voc_last_csat", "number", "Number(1, 0)"),
    _f("Voc_Last_CES__c", "voc_last_ces", "number", "Number(1, 0)"),
    _f("Voc_Last_Sentiment__c", "voc_last_sentiment", "picklist", "Picklist: Positive, Neutral, Negative",
       "Positive", "Neutral", "Negative"),
    _f("Voc_Last_Sentiment_Score__c", "voc_last_sentiment_score", "number", "Number(1, 4)"),
    *(_f(f"Voc_{dim.capitalize()}_Score__c", f"voc_{dim}_score", "number", "Number(1, 4)")
      for dim in ("sense", "feel", "think", "act", "relate")),
    # Long text, not a multi-select picklist: themes are open-ended and a picklist refuses unknown values.
    _f("Voc_Last_Themes__c", "voc_last_themes", "longtext", "Long Text Area(32768)", length=32768),
    _f("Voc_Experience_Mismatch__c", "voc_experience_mismatch", "checkbox", "Checkbox"),
    _f("Voc_Last_Touchpoint__c", "voc_last_touchpoint", "text", "Text(255)"),
    _f("Voc_Last_Survey__c", "voc_last_survey", "text", "Text(255)"),
    _f("Voc_Last_Response_Id__c", "voc_last_response_id", "text", "Text(255)"),
    _f("Voc_Last_Response_At__c", "voc_last_response_at", "datetime", "Date/Time"),
    _f("Voc_Response_Count__c", "voc_response_count", "number", "Number(18, 0)"),
    _f("Voc_Experience_Trend__c", "voc_experience_trend", "picklist", "Picklist: Improving, Stable, Declining",
       "Improving", "Stable", "Declining"),
    _f("Voc_Last_Invitation_URL__c", "voc_last_invitation_url", "url", "URL(255)"),
    _f("Voc_Last_Invitation_Channel__c", "voc_last_invitation_channel", "text", "Text(255)"),
    _f("Voc_Last_Invitation_Touchpoint__c", "voc_last_invitation_touchpoint", "text", "Text(255)"),
    _f("Voc_Last_Invitation_Expires_At__c", "voc_last_invitation_expires_at", "datetime", "Date/Time"),
    _f("Voc_Last_Invited_At__c", "voc_last_invited_at", "datetime", "Date/Time"),
    _f("Voc_Last_Followup_Id__c", "voc_last_followup_id", "text", "Text(255)"),
    _f("Voc_Last_Followup_Reason__c", "voc_last_followup_reason", "text", "Text(255)"),
    _f("Voc_Last_Followup_Status__c", "voc_last_followup_status", "text", "Text(255)"),
    _f("Voc_Opted_Out__c", "voc_opted_out", "checkbox", "Checkbox"),
    _f("Voc_Opted_Out_At__c", "voc_opted_out_at", "datetime", "Date/Time"),
    _f("Voc_Updated_At__c", "voc_updated_at", "datetime", "Date/Time"),
)
BY_SOURCE = {f.source: f for f in FIELDS}


def format_value(spec: SfField, value: Any) -> Any:
    """`value` as Salesforce takes it for the field's type, or None to leave the field out."""
    if value is None:
        return None
    if spec.kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return value if isinstance(value, int) else round(float(value), 4)
    if spec.kind == "checkbox":
        return bool(value)
    if spec.kind == "picklist":
        label = str(value).capitalize()
        return label if label in spec.values else None
    if spec.kind == "datetime":
        moment = parse_moment(value)
        return iso_millis(moment) if moment else None
    text = str(value)
    if spec.kind == "url" and len(text) > spec.length:
        return None  # a cut URL is a broken link: better none
    return text[:spec.length]


def sobject_fields(event: dict[str, Any]) -> dict[str, Any]:
    """The upsert body for `event`: a flat object of custom fields, nulls left out, no external-id field."""
    body = {}
    for source, raw in blank_all(contact_values(event), BY_SOURCE).items():
        spec = BY_SOURCE.get(source)
        if spec is not None and isinstance(raw, Blank):
            body[spec.api_name] = None  # Salesforce clears a field sent as null
            continue
        value = format_value(spec, raw) if spec else None
        if value is not None:
            body[spec.api_name] = value
    return body


def contact_url(api_version: str, external_id_field: str) -> str:
    """The upsert URL template; the instance URL comes with the access token."""
    return f"{INSTANCE_URL}/services/data/{api_version}/sobjects/Contact/{external_id_field}/{{contact.external_id}}"


def token_url(login_url: str) -> str:
    return f"{login_url.rstrip('/')}/services/oauth2/token"


def check_login_url(url: str) -> str:
    """The My Domain URL without a trailing slash; raises ValueError unless it is a bare https origin
    (http only for a loopback test server)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError("give the org's My Domain URL, like https://acme.my.salesforce.com")
    if parts.path.strip("/"):
        raise ValueError("give the My Domain URL alone, without a path")
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class Token:
    access_token: str
    instance_url: str


@dataclass
class TokenResult:
    """A token, or why there is none (a verdict, and the request's answer to log)."""

    token: Token | None
    verdict: Verdict
    status_code: int | None = None
    latency_ms: int | None = None
    snippet: str | None = None


def request_token(login_url: str, client_id: str, client_secret: str) -> TokenResult:
    """Ask the org for an access token with the client-credentials flow (no database transaction open)."""
    body = urlencode({"grant_type": "client_credentials", "client_id": client_id,
                      "client_secret": client_secret}).encode()
    try:
        answer = call("POST", token_url(login_url), body=body,
                      headers={"content-type": "application/x-www-form-urlencoded", "accept": "application/json"})
    except UnsafeUrlError as exc:
        return TokenResult(None, Verdict("retry", f"not sent: {exc.message}"))
    if answer.error:
        return TokenResult(None, Verdict("retry", f"token request: {answer.error}"), latency_ms=answer.latency_ms)
    status = answer.status_code
    found = json_body(answer)
    if status == 200 and isinstance(found, dict):
        access, instance = found.get("access_token"), found.get("instance_url")
        if isinstance(access, str) and access and isinstance(instance, str) and instance.startswith(("https://",
                                                                                                     "http://")):
            return TokenResult(Token(access, instance.rstrip("/")), Verdict("delivered"), status, answer.latency_ms)
    # Never keep a 200's body: it holds the token. An error body is safe to log.
    snippet = None if status == 200 else answer.snippet
    detail = error_text(answer.content, ("error",), ("error_description",)) if status != 200 else ""
    if status in (400, 401):
        verdict = Verdict("credentials", f"Salesforce refused the connection's client credentials (HTTP {status}"
                                         f"{detail}): check the connected app's client id and secret, and that its "
                                         "client-credentials flow has a run-as user")
    elif status in (408, 429) or status >= 500:
        verdict = Verdict("retry", f"token request: HTTP {status}{detail}")
    else:
        verdict = Verdict("rejected", f"no usable token from {token_url(login_url)} (HTTP {status}{detail}): "
                                      "check the connection's My Domain URL")
    return TokenResult(None, verdict, status, answer.latency_ms, snippet)


def verdict(status: int, content: bytes, *, field: str = DEFAULT_EXTERNAL_ID_FIELD,
            external_id: str = "") -> Verdict:
    """What Salesforce's answer to an upsert means for the message."""
    detail = error_text(content, ("errorCode",), ("message",))
    if 200 <= status < 300:
        return Verdict("delivered")
    if status == 401:
        return Verdict("session", f"Salesforce refused the access token (HTTP 401{detail})")
    if status == 403:
        if b"REQUEST_LIMIT_EXCEEDED" in content:
            return Verdict("retry", f"Salesforce's API limit is reached (HTTP 403{detail}); trying later")
        return Verdict("credentials", f"Salesforce refused access (HTTP 403{detail}): the connected app's run-as "
                                      "user needs API access and edit rights on Contact and voc's fields")
    if status == 404:
        return Verdict("missing", f"Salesforce: not found (HTTP 404{detail})")
    if status == 400 and b"REQUIRED_FIELD_MISSING" in content:
        return Verdict("missing", f"Salesforce has no Contact with {field} = {external_id} (the upsert would create "
                                  f"one, and voc does not create Salesforce contacts; HTTP 400{detail})")
    if status == 300:
        return Verdict("rejected", f"several Salesforce Contacts have {field} = {external_id} (HTTP 300)")
    if status in (408, 429) or status >= 500:
        return Verdict("retry", f"HTTP {status}{detail}")
    return Verdict("rejected", f"Salesforce refused the update (HTTP {status}{detail})")
