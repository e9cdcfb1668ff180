"""Create voc's property group and properties in a HubSpot account, idempotently.

`GET` first (a property that is there is left alone, and reported if its type differs from what voc
writes), then `POST` what is missing; a 409 (made meanwhile) counts as there. Runs with no database
transaction open: from `voc crm setup hubspot` and from the settings page's button (a job).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from voc.crm.http import call, error_text, json_body
from voc.crm.hubspot import API_URL, GROUP, GROUP_LABEL, PROPERTIES, SCOPES, Property, SetupReport
from voc.errors import VocError
from voc.webhooks.ssrf import UnsafeUrlError

MAX_RATE_LIMIT_WAITS = 5
MAX_WAIT_SECONDS = 10.0


class SetupError(VocError):
    """HubSpot refused or failed the setup; the message says what to fix."""

    status_code = 502
    code = "crm_setup_failed"


class HubSpotClient:
    """The few properties-API calls the setup makes, with the private app's token."""

    def __init__(self, token: str, base_url: str = API_URL, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.token, self.base_url, self.sleep = token, base_url.rstrip("/"), sleep

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        """(status, JSON) of one call; waits out a 429 a few times; raises SetupError on what setup cannot pass."""
        headers = {"authorization": f"Bearer {self.token}", "accept": "application/json"}
        content = b""
        if body is not None:
            headers["content-type"] = "application/json"
            content = json.dumps(body, separators=(",", ":")).encode()
        for _ in range(MAX_RATE_LIMIT_WAITS + 1):
            try:
                answer = call(method, self.base_url + path, body=content, headers=headers)
            except UnsafeUrlError as exc:
                raise SetupError(f"HubSpot's URL may not be called: {exc.message}") from None
            if answer.error:
                raise SetupError(f"{method} {path}: {answer.error}")
            if answer.status_code != 429:
                break
            self.sleep(min(answer.retry_after or 1.0, MAX_WAIT_SECONDS))
        status = answer.status_code
        detail = error_text(answer.content, ("category",), ("message",))
        if status in (401, 403):
            raise SetupError(f"HubSpot refused the token (HTTP {status}{detail}); the private app needs the "
                             f"scopes {', '.join(SCOPES)}")
        if status == 429 or status >= 500:
            raise SetupError(f"{method} {path}: HTTP {status}{detail}; try again later")
        return status, json_body(answer)


def _differences(prop: Property, found: dict[str, Any]) -> str | None:
    if found.get("type") != prop.type:
        return f"{prop.name} is {found.get('type')}, voc writes {prop.type}"
    if prop.type == "enumeration":
        values = {str(option.get("value")) for option in found.get("options") or [] if isinstance(option, dict)}
        missing = [value for value in prop.options if value not in values]
        if missing:
            return f"{prop.name} lacks the options {', '.join(missing)}"
    return None


def _ensure(client: HubSpotClient, definition: dict[str, Any], report: SetupReport,
            compare: Callable[[dict[str, Any]], str | None]) -> None:
    name = definition["name"]
    status, found = client.request("GET", f"/crm/v3/properties/contacts/{quote(name, safe='')}")
    if status == 200 and isinstance(found, dict):
        report.existed.append(name)
        difference = compare(found)
        if difference:
            report.mismatched.append(difference)
        return
    if status != 404:
        raise SetupError(f"reading property {name}: HTTP {status}")
    status, answer = client.request("POST", "/crm/v3/properties/contacts", definition)
    if status in (200, 201):
        report.created.append(name)
    elif status == 409:
        report.existed.append(name)
    else:
        raise SetupError(f"creating property {name}: HTTP {status}: {json.dumps(answer)[:300]}")


def setup_properties(token: str, *, base_url: str = API_URL, id_property: str | None = None,
                     sleep: Callable[[float], None] = time.sleep) -> SetupReport:
    """Make the group `voc` and every property the hubspot-contact-properties preset writes (and a custom
    unique id property, when the endpoint finds contacts by one); safe to run again."""
    client = HubSpotClient(token, base_url, sleep=sleep)
    report = SetupReport()
    status, _ = client.request("GET", f"/crm/v3/properties/contacts/groups/{GROUP}")
    if status == 404:
        status, answer = client.request("POST", "/crm/v3/properties/contacts/groups",
                                        {"name": GROUP, "label": GROUP_LABEL, "displayOrder": -1})
        if status in (200, 201):
            report.group_created = True
        elif status != 409:
            raise SetupError(f"creating the property group: HTTP {status}: {json.dumps(answer)[:300]}")
    elif status != 200:
        raise SetupError(f"reading the property group: HTTP {status}")
    for prop in PROPERTIES:
        _ensure(client, prop.definition(), report, lambda found, prop=prop: _differences(prop, found))
    if id_property and id_property != "email":
        definition = {"name": id_property, "label": "External id (voc)", "type": "string", "fieldType": "text",
                      "groupName": GROUP, "hasUniqueValue": True,
                      "description": "The id voc knows this contact by; unique, so voc can find the record."}

        def unique(found: dict[str, Any]) -> str | None:
            return None if found.get("hasUniqueValue") else \
                f"{id_property} is not unique: HubSpot finds records by unique properties only"

        _ensure(client, definition, report, unique)
    return report
