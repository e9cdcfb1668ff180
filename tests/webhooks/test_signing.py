"""Our signatures verify with the reference `standardwebhooks` receiver library."""

from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from voc.webhooks.signing import (
    generate_secret,
    new_message_id,
    sign_payload,
    signature_header,
    webhook_headers,
)

BODY = b'{"data":{"contact":{"crm":"hubspot","external_id":"42"}},"timestamp":"2025-05-14T09:31:21Z",' \
       b'"type":"response.completed","note":"caf\xc3\xa9"}'


def test_secret_is_whsec_and_32_random_bytes():
    secret = generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert generate_secret() != secret


def test_signature_matches_the_spec_example():
    # The worked example from the Standard Webhooks specification.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    signature = sign_payload(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_reference_library_accepts_our_delivery():
    secret = generate_secret()
    headers = webhook_headers([secret], new_message_id(), int(time.time()), BODY)
    assert headers["content-type"] == "application/json"
    assert Webhook(secret).verify(BODY, headers)["type"] == "response.completed"


@pytest.mark.parametrize("tamper", ["body", "timestamp", "id"])
def test_reference_library_rejects_a_tampered_delivery(tamper):
    secret = generate_secret()
    now = int(time.time())
    headers = webhook_headers([secret], "msg_1", now, BODY)
    body = BODY
    if tamper == "body":
        body = BODY.replace(b'"42"', b'"43"')
    elif tamper == "timestamp":
        headers["webhook-timestamp"] = str(now - 1)
    else:
        headers["webhook-id"] = "msg_2"
    with pytest.raises(WebhookVerificationError, match="No matching signature found"):
        Webhook(secret).verify(body, headers)


def test_reference_library_rejects_an_old_timestamp():
    secret = generate_secret()
    headers = webhook_headers([secret], "msg_1", int(time.time()) - 600, BODY)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(BODY, headers)


def test_rotation_signs_with_both_secrets_and_either_verifies():
    old, new = generate_secret(), generate_secret()
    headers = webhook_headers([old, new], "msg_1", int(time.time()), BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(BODY, headers)


def test_signature_header_needs_a_secret():
    with pytest.raises(ValueError):
        signature_header([], "msg_1", 1, BODY)


def test_message_ids_are_unique_and_sort_by_time():
    earlier = [new_message_id(now=1_700_000_000.000) for _ in range(50)]
    later = new_message_id(now=1_700_000_000.001)
    assert len(set(earlier)) == 50
    assert all(m.startswith("msg_") and len(m) == 30 for m in earlier)
    assert max(earlier) < later < new_message_id()
