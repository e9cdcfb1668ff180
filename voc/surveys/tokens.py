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


def token_for(nonce: str, secret_key: str) -> str:
    """The survey token of the invitation with this nonce."""
    digest = hmac.new(secret_key.encode(), b"voc-invitation:" + nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def hash_token(token: str) -> str:
    """What the database stores and looks up: the token's SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()
