"""API keys: made once, shown once, stored as a hash, checked per scope."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlmodel import Session

from voc.auth.models import ApiKey
from voc.db import utcnow
from voc.errors import Forbidden, Invalid, Unauthorized

SCOPES = ("events:write", "surveys:write", "surveys:read", "responses:read", "webhooks:write", "contacts:erase",
          "admin")
KEY_PREFIX = "voc"


def _hash(secret: str) -> str:
    # The secret part has 256 random bits, so a plain SHA-256 is as safe as a slow hash here.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(session: Session, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
    """A new key and its plaintext, which is never stored nor shown again."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise Invalid(f"unknown scopes {unknown}; choose from {', '.join(SCOPES)}" if unknown
                      else "at least one scope is needed", code="invalid_scope")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(name=name, prefix=prefix, secret_hash=_hash(secret), scopes=sorted(set(scopes)))
    session.add(key)
    session.flush()
    return key, f"{KEY_PREFIX}_{prefix}_{secret}"


def key_parts(presented: str | None) -> tuple[str, str]:
    """The (prefix, secret) of an `Authorization: Bearer` value shaped like a key, or 401: no database needed."""
    if not presented:
        raise Unauthorized("an API key is required: Authorization: Bearer <key>")
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        raise Unauthorized("the API key is not valid", code="invalid_api_key")
    return parts[1], parts[2]


def authenticate(session: Session, presented: str | None) -> ApiKey:
    """The live key behind an `Authorization: Bearer` value, or 401."""
    prefix, secret = key_parts(presented)
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or key.revoked_at is not None or not hmac.compare_digest(key.secret_hash, _hash(secret)):
        raise Unauthorized("the API key is not valid", code="invalid_api_key")
    now = utcnow()
    # Write last_used_at at most once a minute: a write per request would serialise the API on SQLite.
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        key.last_used_at = now
        session.add(key)
    return key


def require_scope(key: ApiKey, scope: str) -> None:
    """403 unless the key holds `scope` (admin holds every scope)."""
    if scope not in key.scopes and "admin" not in key.scopes:
        raise Forbidden(f"this API key lacks the {scope!r} scope", code="insufficient_scope")


def revoke_api_key(session: Session, key_id: int) -> ApiKey | None:
    """Revoke a key; returns it when this revoked it (None for an unknown or already revoked key)."""
    key = session.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None:
        return None
    key.revoked_at = utcnow()
    session.add(key)
    return key


def list_api_keys(session: Session) -> list[ApiKey]:
    """Every API key, live ones first, newest first."""
    return sorted(session.scalars(select(ApiKey)), key=lambda k: (k.revoked_at is not None, -(k.id or 0)))
