"""The recorded state of objects that have no public schema of their own: API keys and dashboard users."""

from __future__ import annotations

from typing import Any

from voc.auth.models import ApiKey, User


def api_key_state(key: ApiKey) -> dict[str, Any]:
    """A key's name, public prefix, scopes and revocation: never its secret or hash."""
    return {"id": key.id, "name": key.name, "prefix": key.prefix, "scopes": list(key.scopes),
            "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None}


def user_state(user: User) -> dict[str, Any]:
    """A user's e-mail address, role and whether they are disabled: never their password hash."""
    return {"id": user.id, "email": user.email, "role": user.role, "disabled": user.disabled_at is not None}
