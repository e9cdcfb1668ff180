"""Standard Webhooks signatures: secrets, message ids and headers.

Receivers verify with any Standard Webhooks library (tests/webhooks/test_signing.py checks voc's
signatures with the reference `standardwebhooks` package), so voc carries no verifier of its own.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets as _secrets
import time
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"  # noqa: S105 - a format prefix, not a secret
SIGNATURE_VERSION = "v1"

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def generate_secret() -> str:
    """Return a new signing secret, `whsec_` followed by 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(32)).decode("ascii")


def _secret_key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("webhook secret is not valid base64 after the whsec_ prefix") from exc
    if not key:
        raise ValueError("webhook secret is empty")
    return key


def sign_payload(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Return `v1,<base64 HMAC-SHA256>` of `{msg_id}.{timestamp}.{body}` under `secret`."""
    signed = f"{msg_id}.{int(timestamp)}.".encode() + body
    digest = hmac.new(_secret_key(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def signature_header(secrets: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """Return the `webhook-signature` value: one signature per active secret, space-separated."""
    # During rotation the old and new secret both sign, so a receiver holding either one
    # keeps accepting deliveries until it has switched over.
    signatures = list(dict.fromkeys(sign_payload(s, msg_id, timestamp, body) for s in secrets))
    if not signatures:
        raise ValueError("at least one secret is needed to sign a webhook")
    return " ".join(signatures)


def webhook_headers(secrets: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Return the Standard Webhooks headers for one delivery attempt."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": signature_header(secrets, msg_id, timestamp, body),
        "content-type": "application/json",
    }


def new_message_id(now: float | None = None) -> str:
    """Return a new `msg_` id whose text sorts by creation time (48-bit ms clock + 80 random bits)."""
    # ULID layout in Crockford base32: ids created later sort later, which keeps delivery
    # logs ordered without a separate column; the random part keeps them unguessable.
    millis = int((time.time() if now is None else now) * 1000)
    value = (millis & ((1 << 48) - 1)) << 80 | int.from_bytes(os.urandom(10), "big")
    chars = [_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5)]
    return "msg_" + "".join(chars)
