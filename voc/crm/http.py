"""Calls to a CRM's API outside a webhook delivery (token requests, property setup): through the same
vetted transport, so an address check, pinning and no redirects apply to them too."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from voc.config import get_settings
from voc.webhooks import transport
from voc.webhooks.ssrf import resolve_and_check

# A CRM's JSON answers are small (a property, a token); the cap only guards against a runaway answer.
READ_LIMIT = 256 * 1024


def call(method: str, url: str, *, body: bytes = b"", headers: dict[str, str] | None = None,
         timeout: float | None = None) -> transport.Answer:
    """Send one request to a vetted address; raises `UnsafeUrlError` when the URL may not be called."""
    settings = get_settings()
    addresses = resolve_and_check(url, settings.webhook_allow_private)
    return transport.send(method, url, addresses[0], body, headers or {},
                          timeout or settings.webhook_timeout_seconds, read_limit=READ_LIMIT)


def json_body(answer: transport.Answer) -> Any:
    """The answer's JSON, or None when it is not JSON (an HTML error page, an empty 204)."""
    return json_body_of(answer.content)


@dataclass(frozen=True)
class Verdict:
    """What a CRM's answer means for a message: delivered, retry (later), rejected (dead), missing (no such
    record: dead, or created when the endpoint says so), credentials (hold the endpoint's deliveries), or
    session (Salesforce: the access token expired; fetch a new one once)."""

    kind: str
    reason: str | None = None


def error_text(content: bytes, code_keys: tuple[str, ...], message_keys: tuple[str, ...]) -> str:
    """": CODE: message" from a CRM's error JSON (an object, or a list of them as Salesforce sends), or ""."""
    body = json_body_of(content)
    first = body[0] if isinstance(body, list) and body else body
    if not isinstance(first, dict):
        return ""
    code = next((str(first[k]) for k in code_keys if first.get(k)), "")
    message = next((str(first[k]) for k in message_keys if first.get(k)), "")
    text = ": ".join(part for part in (code, message) if part)
    return f": {text[:300]}" if text else ""


def json_body_of(content: bytes) -> Any:
    try:
        return json.loads(content or b"null")
    except ValueError:
        return None
