"""Encrypt webhook secrets and custom header values at rest with a key derived from VOC_SECRET_KEY.

voc must read these back (to sign, and to send a CRM's own credentials), so they cannot be hashed.
Fernet (AES-128-CBC with an HMAC-SHA256 tag, from the `cryptography` package) does the sealing: a
well-reviewed construction rather than one of ours. The tag makes a changed value, or a different
VOC_SECRET_KEY, an error rather than garbage.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken

from voc.config import get_settings
from voc.errors import VocError

_PREFIX = "f1."


class SealError(VocError):
    """A sealed value that does not open: tampered with, or sealed under another VOC_SECRET_KEY."""

    status_code = 500
    code = "sealed_value_unreadable"


@lru_cache(maxsize=8)
def _fernet(secret_key: str) -> Fernet:
    # A dedicated key for this purpose, so the survey-token key and this one never coincide.
    derived = hmac.new(secret_key.encode(), b"voc/webhooks/seal", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(plaintext: str, *, secret_key: str | None = None) -> str:
    """Return `plaintext` encrypted and authenticated, as printable text."""
    token = _fernet(secret_key or get_settings().secret_key).encrypt(plaintext.encode())
    return _PREFIX + token.decode()


def unseal(sealed: str, *, secret_key: str | None = None) -> str:
    """Return the plaintext of a `seal` result, or raise `SealError`."""
    if not sealed.startswith(_PREFIX):
        raise SealError("a stored webhook secret is not in voc's sealed format")
    try:
        return _fernet(secret_key or get_settings().secret_key).decrypt(sealed[len(_PREFIX):].encode()).decode()
    except InvalidToken as exc:
        raise SealError("a stored webhook secret does not open: was VOC_SECRET_KEY changed?") from exc
