"""Secrets and custom header values are encrypted at rest and only open under the same VOC_SECRET_KEY."""

from __future__ import annotations

import pytest

from voc.webhooks.sealing import SealError, seal, unseal
from voc.webhooks.signing import generate_secret


def test_a_sealed_secret_opens_to_itself_and_hides_it():
    secret = generate_secret()
    sealed = seal(secret)
    assert unseal(sealed) == secret
    assert secret not in sealed and secret.removeprefix("whsec_") not in sealed
    assert seal(secret) != sealed  # a fresh nonce each time: equal secrets do not look equal
    assert unseal(seal("Bearer é✓")) == "Bearer é✓"
    assert len(seal(generate_secret())) <= 200  # fits the column


def test_another_secret_key_or_any_change_is_refused():
    sealed = seal("Bearer crm-token")
    with pytest.raises(SealError, match="VOC_SECRET_KEY"):
        unseal(sealed, secret_key="another-key-0123456789abcdef0123456789")
    flipped = sealed[:-5] + ("A" if sealed[-5] != "A" else "B") + sealed[-4:]
    for broken in (flipped, "v1.", "v2." + sealed[3:], "plain text", ""):
        with pytest.raises(SealError):
            unseal(broken)
