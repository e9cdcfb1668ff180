"""A one-time message for the page a change redirects to (POST → 303 → GET), kept in the session cookie.

The page that shows it takes it out of the session, so a reload shows nothing. A secret shown once (a new
API key, a webhook signing secret, a site secret) travels in it encrypted, never in a URL: the session
cookie is signed, not encrypted, so the secret is sealed with a key of its own (Fernet, as voc seals
stored secrets) and opens for a few minutes only, whatever happens to the cookie afterwards."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from fastapi import Request

from voc.config import get_settings

SESSION_KEY = "flash"
SECRET_SECONDS = 300  # a redirect takes a moment; a secret left unshown longer is dropped


@dataclass(frozen=True)
class Flash:
    """What the next page shows once: a notice (a code the page words), and perhaps a secret with what it is
    (`kind`, e.g. "api_key") and what it belongs to (`about`, e.g. the key's name)."""

    notice: str | None = None
    kind: str | None = None
    about: str | None = None
    secret: str | None = None


@lru_cache(maxsize=8)
def _fernet(secret_key: str) -> Fernet:
    # Derived for this purpose only: never the key that seals stored secrets or signs survey tokens.
    derived = hmac.new(secret_key.encode(), b"voc/web/flash", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def set_flash(request: Request, *, notice: str | None = None, kind: str | None = None, about: str | None = None,
              secret: str | None = None) -> None:
    """Leave a notice (and a secret, sealed) for the next page this session shows; it replaces an earlier one."""
    entry: dict[str, Any] = {"notice": notice, "kind": kind, "about": about}
    if secret is not None:
        entry["sealed"] = _fernet(get_settings().secret_key).encrypt(secret.encode()).decode()
    request.session[SESSION_KEY] = entry


def pop_flash(request: Request) -> Flash | None:
    """The flash left for this page, taken out of the session (so it shows once); None if there is none."""
    entry = request.session.pop(SESSION_KEY, None)
    if not isinstance(entry, dict):
        return None
    secret = None
    if isinstance(entry.get("sealed"), str):
        try:
            secret = _fernet(get_settings().secret_key).decrypt(entry["sealed"].encode(), ttl=SECRET_SECONDS).decode()
        except InvalidToken:  # too old, or sealed under another VOC_SECRET_KEY: not shown
            return None
    text = {name: value if isinstance(value, str) else None for name, value in entry.items()}
    return Flash(notice=text.get("notice"), kind=text.get("kind"), about=text.get("about"), secret=secret)
