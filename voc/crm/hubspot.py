"""HubSpot CRM v3: the contact properties voc writes, their values in HubSpot's formats, and what
HubSpot's answers mean.

Assumptions, from HubSpot's CRM v3 documentation (properties and objects APIs):
- `PATCH /crm/v3/objects/contacts/{id}` updates a contact by record id, or by a unique property with
  `?idProperty=email` (or a custom property with "hasUniqueValue"); the body is `{"properties": {...}}`.
  A contact that does not exist is a 404; `POST /crm/v3/objects/contacts` creates one.
- Property types and the value each takes: `number` a number, `string` text, `enumeration` one of the
  property's declared option values, `bool` "true"/"false", `datetime` epoch milliseconds or ISO 8601
  (voc sends ISO 8601 UTC with milliseconds), `date` midnight UTC (voc sends YYYY-MM-DD).
- Errors are JSON `{"status": "error", "message", "correlationId", "category"}`: 401 for a missing,
  invalid or expired token, 403 MISSING_SCOPES, 404 OBJECT_NOT_FOUND, 409 CONFLICT, 429 RATE_LIMIT
  (the daily or ten-secondly limit; Retry-After when given), 400 VALIDATION_ERROR.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from voc.crm.http import Verdict, error_text
from voc.crm.values import Blank, blank_all, contact_values, iso_millis, parse_moment

API_URL = "https://api.hubapi.com"
CONTACTS_PATH = "/crm/v3/objects/contacts"
GROUP = "voc"
GROUP_LABEL = "Voice of the customer (voc)"
MAX_STRING = 65_536  # HubSpot's limit for a string property value
SCOPES = ("crm.objects.contacts.read", "crm.objects.contacts.write", "crm.schemas.contacts.write")


@dataclass(frozen=True)
class Property:
    """One contact property voc writes, as the properties API creates it."""

    name: str
    label: str
    type: str  # number | string | enumeration | bool | date | datetime
    field_type: str  # number | text | textarea | select | booleancheckbox | date
    options: tuple[str, ...] = ()
    description: str = ""

    def definition(self) -> dict[str, Any]:
        """The body of `POST /crm/v3/properties/contacts` for this property."""
        body: dict[str, Any] = {"name": self.name, "label": self.label, "type": self.type,
                                "fieldType": self.field_type, "groupName": GROUP,
                                "description": self.description or f"Written by voc: {self.label.lower()}."}
        if self.type == "enumeration":
            body["options"] = [{"label": value.replace("_", " ").capitalize(), "value": value,
                                "displayOrder": order} for order, value in enumerate(self.options)]
        elif self.type == "bool":
            body["options"] = [{"label": "Yes", "value": "true", "displayOrder": 0},
                               {"label": "No", "value": "false", "displayOrder": 1}]
        return body


def _number(name: str, label: str) -> Property:
    return Property(name, label, "number", "number")


def _text(name: str, label: str, field_type: str = "text") -> Property:
    return Property(name, label, "string", field_type)


def _datetime(name: str, label: str) -> Property:
    return Property(name, label, "datetime", "date")


def _enum(name: str, label: str, *options: str) -> Property:
    return Property(name, label, "enumeration", "select", options)


PROPERTIES: tuple[Property, ...] = (
    _number("voc_last_nps", "Last NPS (0-10)"),
    _enum("voc_nps_category", "NPS category", "promoter", "passive", "detractor"),
    _number("voc_csat", "CSAT, mean of recent answers (1-5)"),
    _number("voc_ces", "CES, mean of recent answers (1-7)"),
    _number("voc_last_csat", "Last CSAT (1-5)"),
    _number("voc_last_ces", "Last CES (1-7)"),
    _enum("voc_last_sentiment", "Last sentiment", "positive", "neutral", "negative"),
    _number("voc_last_sentiment_score", "Last sentiment score (-1 to 1)"),
    _number("voc_sense_score", "Sense: mean valence (-1 to 1)"),
    _number("voc_feel_score", "Feel: mean valence (-1 to 1)"),
    _number("voc_think_score", "Think: mean valence (-1 to 1)"),
    _number("voc_act_score", "Act: mean valence (-1 to 1)"),
    _number("voc_relate_score", "Relate: mean valence (-1 to 1)"),
    _text("voc_last_themes", "Last themes (separated by ;)", "textarea"),
    Property("voc_experience_mismatch", "Score and comment disagree", "bool", "booleancheckbox"),
    _text("voc_last_touchpoint", "Last touchpoint"),
    _text("voc_last_survey", "Last survey"),
    _text("voc_last_response_id", "Last response id"),
    _datetime("voc_last_response_at", "Last response at"),
    Property("voc_last_response_date", "Last response date", "date", "date"),
    _number("voc_response_count", "Responses"),
    _enum("voc_experience_trend", "Experience trend", "improving", "stable", "declining"),
    _text("voc_last_invitation_url", "Last survey link"),
    _text("voc_last_invitation_channel", "Last invitation channel"),
    _text("voc_last_invitation_touchpoint", "Last invitation touchpoint"),
    _datetime("voc_last_invitation_expires_at", "Last survey link expires at"),
    _datetime("voc_last_invited_at", "Last invited at"),
    _text("voc_last_followup_id", "Last follow-up id"),
    _enum("voc_last_followup_reason", "Last follow-up reason", "detractor", "low_csat", "high_effort",
          "negative_comment"),
    _enum("voc_last_followup_status", "Last follow-up status", "open", "in_progress", "resolved"),
    Property("voc_opted_out", "Opted out of surveys", "bool", "booleancheckbox"),
    _datetime("voc_opted_out_at", "Opted out at"),
    _datetime("voc_updated_at", "Updated by voc at"),
)
BY_NAME = {prop.name: prop for prop in PROPERTIES}


# --- values in HubSpot's formats ---------------------------------------------------------------------

def format_value(prop: Property, value: Any) -> Any:
    """`value` as HubSpot takes it for `prop`'s type, or None when it has none (left out of the update)."""
    if value is None:
        return None
    if isinstance(value, Blank):
        return ""  # HubSpot clears a property set to ""
    if prop.type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return value if isinstance(value, int) else round(float(value), 4)
    if prop.type == "bool":
        return "true" if value else "false"
    if prop.type == "enumeration":
        # Only a declared option: anything else would make HubSpot refuse the whole update.
        return value if value in prop.options else None
    if prop.type in ("datetime", "date"):
        moment = parse_moment(value)
        if moment is None:
            return None
        if prop.type == "date":
            return moment.strftime("%Y-%m-%d")  # the day, which HubSpot stores as midnight UTC
        return iso_millis(moment)
    return str(value)[:MAX_STRING]


def contact_properties(event: dict[str, Any]) -> dict[str, Any]:
    """The PATCH body for `event`: `{"properties": {...}}`, typed per property, nulls left out (an update
    never blanks what the CRM holds). Event types added later set only voc_updated_at."""
    properties = {}
    for name, raw in blank_all(contact_values(event), BY_NAME).items():
        value = format_value(BY_NAME[name], raw)
        if value is not None:
            properties[name] = value
    return {"properties": properties}


# --- URLs and answers --------------------------------------------------------------------------------

def contact_url(base_url: str, id_property: str | None) -> str:
    """The PATCH URL template of a contact, by record id or by a unique property."""
    url = f"{base_url.rstrip('/')}{CONTACTS_PATH}/{{contact.external_id}}"
    return f"{url}?idProperty={id_property}" if id_property else url


def create_url(base_url: str) -> str:
    return f"{base_url.rstrip('/')}{CONTACTS_PATH}"


def create_body(update_body: dict[str, Any], id_property: str, external_id: str) -> dict[str, Any]:
    """The POST body that creates the missing contact: the update's properties plus the id property."""
    return {"properties": {**(update_body.get("properties") or {}), id_property: external_id}}


def verdict(status: int, content: bytes) -> Verdict:
    """What HubSpot's answer to a contact update means for the message."""
    detail = error_text(content, ("category",), ("message",))
    if 200 <= status < 300:
        return Verdict("delivered")
    if status == 401:
        return Verdict("credentials", f"HubSpot refused the token (HTTP 401{detail}): replace the endpoint's "
                                      "Authorization header")
    if status == 403:
        return Verdict("credentials", f"HubSpot refused the token's access (HTTP 403{detail}): the private app "
                                      f"needs the scopes {', '.join(SCOPES)}")
    if status == 404:
        return Verdict("missing", f"HubSpot has no such contact (HTTP 404{detail})")
    if status in (408, 429) or status >= 500:
        return Verdict("retry", f"HTTP {status}{detail}")
    hint = ""
    if b"PROPERTY_DOESNT_EXIST" in content or b"does not exist" in content:
        hint = "; create voc's properties with `voc crm setup hubspot` or the settings page"
    return Verdict("rejected", f"HubSpot refused the update (HTTP {status}{detail}){hint}")


def create_verdict(status: int, content: bytes) -> Verdict:
    """What HubSpot's answer to creating a missing contact means."""
    if status == 409:  # created meanwhile (another message, a person): the next attempt updates it
        return Verdict("retry", f"HTTP 409{error_text(content, ('category',), ('message',))}")
    found = verdict(status, content)
    if found.kind == "missing":  # a 404 on the collection itself: a wrong base URL, not a missing contact
        return Verdict("rejected", found.reason)
    return found


@dataclass
class SetupReport:
    """What `setup_properties` did, for the command's output and the settings page."""

    group_created: bool = False
    created: list[str] = field(default_factory=list)
    existed: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"group {GROUP!r} {'created' if self.group_created else 'already there'}",
                 f"{len(self.created)} properties created", f"{len(self.existed)} already there"]
        if self.mismatched:
            parts.append("differ from what voc writes: " + "; ".join(self.mismatched))
        return ", ".join(parts)
