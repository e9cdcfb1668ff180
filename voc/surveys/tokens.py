"""Survey tokens: 256 bits derived from a stored nonce with the server's secret key.

The database keeps only the nonce and the SHA-256 of the token: a copy of the database alone
yields no usable link, yet voc can show the same link again for a repeated event."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


def new_nonce() -> str:
    """A fresh random nonce (128 bits) for one invitation."""
    return secrets.token_urlsafe(16)


def keyed_digest(label: str, value: str, secret_key: str) -> str:
    """HMAC-SHA256 of `value` under the server's key, base64url. Each use has its own label, so a value
    signed for one purpose (a survey link, an unsubscribe link) is never valid for another."""
    digest = hmac.new(secret_key.encode(), f"{label}:{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_for(nonce: str, secret_key: str) -> str:
    """The survey token of the invitation with this nonce."""
    return keyed_digest("voc-invitation", nonce, secret_key)


def hash_token(token: str) -> str:
    """What the database stores and looks up: the token's SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()
