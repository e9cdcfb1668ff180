"""Where a delivery goes: the endpoint's method and URL template, and what each preset builds for them.

A URL may hold `{contact.external_id}` and `{contact.crm}`, filled in per message from the payload's
contact and percent-encoded as one path segment (quote with safe=""), so an id holding "/", "?" or "#"
cannot leave its segment. Placeholders are refused in the scheme and host: a contact's id must never
choose which machine voc calls. `{salesforce.instance_url}` (a Salesforce connection's endpoints only)
is the URL's origin, known once the org hands out a token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from voc.crm import hubspot, salesforce
from voc.errors import Invalid

METHODS = ("POST", "PUT", "PATCH")
PLACEHOLDERS = ("contact.external_id", "contact.crm")
INSTANCE_URL = "salesforce.instance_url"
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_HUBSPOT_PROPERTY = re.compile(r"^[a-z][a-z0-9_]{0,99}$")


class TargetError(Invalid):
    """An endpoint's URL template, method or preset options that voc cannot send with."""

    code = "url_invalid"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


class MissingContact(ValueError):
    """A message whose payload lacks the contact value its endpoint's URL needs."""


# --- preset options -----------------------------------------------------------------------------------

class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _base_url(value: str) -> str:
    value = value.strip().rstrip("/")
    if not value.startswith(("https://", "http://")) or any(c in value for c in "?#{} "):
        raise ValueError("base_url must be an http(s) URL without a query, like https://api.hubapi.com")
    return value


class HubSpotOptions(_Options):
    """hubspot-contact-properties: which HubSpot, how the contact is found, whether a missing one is made."""

    base_url: str = hubspot.API_URL
    id_property: str | None = None  # None: the contact's external_id is HubSpot's record id
    create_missing: bool = False

    _base = field_validator("base_url")(_base_url)

    @field_validator("id_property")
    @classmethod
    def _property_name(cls, value: str | None) -> str | None:
        if value in (None, "", "hs_object_id"):
            return None  # the record id
        if not _HUBSPOT_PROPERTY.match(value):
            raise ValueError("id_property must be a HubSpot internal property name (lower case, like email)")
        return value


class SalesforceOptions(_Options):
    """salesforce-sobject: the Contact's external-id field the upsert goes by."""

    external_id_field: str = salesforce.DEFAULT_EXTERNAL_ID_FIELD

    @field_validator("external_id_field")
    @classmethod
    def _field_name(cls, value: str) -> str:
        if not salesforce.FIELD_NAME.match(value):
            raise ValueError("external_id_field must be a field API name, like Voc_External_Id__c")
        return value


@dataclass(frozen=True)
class PresetTarget:
    """What a preset means for sending: its method, which CRM's answers it reads, its options."""

    method: str = "POST"
    crm: str | None = None  # "hubspot" | "salesforce": that CRM's errors (credentials, missing contact...)
    options: type[_Options] | None = None
    event_types: tuple[str, ...] | None = None  # None: any


TARGETS: dict[str, PresetTarget] = {
    "hubspot-contact-properties": PresetTarget("PATCH", "hubspot", HubSpotOptions),
    "salesforce-sobject": PresetTarget("PATCH", "salesforce", SalesforceOptions),
    "slack": PresetTarget(event_types=("followup.created", "response.completed")),
    "teams": PresetTarget(event_types=("followup.created", "response.completed")),
}
_PLAIN = PresetTarget()


def preset_target(preset: str) -> PresetTarget:
    return TARGETS.get(preset, _PLAIN)


def check_options(preset: str, options: dict[str, Any] | None) -> dict[str, Any]:
    """The preset's options with defaults filled in; raises TargetError (422 invalid_options)."""
    model = preset_target(preset).options
    if model is None:
        if options:
            raise TargetError("invalid_options", f"the {preset} preset takes no options")
        return {}
    try:
        checked = model.model_validate(options or {})
    except ValidationError as exc:
        message = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'options'}: "
                            f"{e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
        raise TargetError("invalid_options", message) from None
    if isinstance(checked, HubSpotOptions) and checked.create_missing and checked.id_property is None:
        raise TargetError("invalid_options", "create_missing needs an id_property (such as email): HubSpot "
                                             "chooses record ids itself, so a contact cannot be made under one")
    return checked.model_dump()


def default_url(preset: str, options: dict[str, Any], api_version: str | None) -> str | None:
    """The URL template a CRM preset builds from its options (None: the endpoint must give one)."""
    if preset == "hubspot-contact-properties":
        return hubspot.contact_url(options["base_url"], options["id_property"])
    if preset == "salesforce-sobject" and api_version:
        return salesforce.contact_url(api_version, options["external_id_field"])
    return None


def check_method(method: str | None, preset: str) -> str:
    """The method to send with: the given one, or the preset's."""
    method = (method or preset_target(preset).method).upper()
    if method not in METHODS:
        raise TargetError("method_not_allowed", f"method must be one of {', '.join(METHODS)}")
    return method


# --- URL templates ------------------------------------------------------------------------------------

def check_url_template(url: str, *, has_connection: bool) -> str | None:
    """Raise TargetError unless every placeholder is known and in the path or query. Returns the URL with
    sample values filled in, for the address check, or None when its origin is the instance URL."""
    names = _PLACEHOLDER.findall(url)
    rest = _PLACEHOLDER.sub("", url)
    if "{" in rest or "}" in rest:
        raise TargetError("url_invalid", "a { or } in the URL that is not part of a {placeholder}")
    for name in names:
        if name == INSTANCE_URL:
            if not has_connection:
                raise TargetError("url_unknown_placeholder",
                                  "{salesforce.instance_url} needs a Salesforce connection (connection_id)")
            if not url.startswith("{salesforce.instance_url}/") or names.count(INSTANCE_URL) > 1:
                raise TargetError("url_invalid", "{salesforce.instance_url} may only begin the URL, followed by /")
        elif name not in PLACEHOLDERS:
            raise TargetError("url_unknown_placeholder", f"unknown placeholder {{{name}}} in the URL; "
                                                         f"known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}")
    if INSTANCE_URL in names:
        return None
    scheme, sep, after = url.partition("://")
    authority = re.split(r"[/?#]", after, maxsplit=1)[0] if sep else url
    if "{" in authority:
        raise TargetError("url_placeholder_in_host", "placeholders may be in the URL's path or query, "
                                                     "never in its scheme or host")
    return _PLACEHOLDER.sub("x", url)


def resolve_url(template: str, event: dict[str, Any]) -> str:
    """The URL for one message: contact placeholders filled in, percent-encoded; raises MissingContact.
    `{salesforce.instance_url}` stays (fill_instance_url, once the token is known)."""
    data = event.get("data")
    contact = data.get("contact") if isinstance(data, dict) else None

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == INSTANCE_URL:
            return match.group(0)
        key = name.split(".", 1)[1]
        value = contact.get(key) if isinstance(contact, dict) else None
        if value is None or str(value) == "":
            raise MissingContact(f"the URL needs {{{name}}}, and this {event.get('type')} event carries "
                                 f"no contact {key}")
        return quote(str(value), safe="")

    return _PLACEHOLDER.sub(fill, template)


def fill_instance_url(url: str, instance_url: str) -> str:
    """Put a Salesforce org's instance URL (from its token answer) in place of its placeholder."""
    return url.replace("{" + INSTANCE_URL + "}", instance_url.rstrip("/"), 1)


def contact_external_id(event: dict[str, Any]) -> str | None:
    data = event.get("data")
    contact = data.get("contact") if isinstance(data, dict) else None
    value = contact.get("external_id") if isinstance(contact, dict) else None
    return None if value is None else str(value)
