"""Delivery to a real receiver on loopback: signatures, retries, dead messages, disabling, replay."""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta

import pytest
from sqlmodel import Session
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.webhooks.conftest import set_env
from tests.webhooks.helpers import answer_with, attempts, drain, endpoint, message, publish, update_endpoint
from tests.webhooks.receiver import Receiver
from voc.db import reading, session_scope, utcnow
from voc.jobs.queue import Defer, enqueue
from voc.webhooks import delivery, outbox
from voc.webhooks.endpoints import create_endpoint, rotate_secret
from voc.webhooks.models import WebhookEndpoint
from voc.webhooks.samples import sample_event
from voc.webhooks.schemas import EndpointCreate


def test_a_delivered_message_verifies_with_the_standardwebhooks_package(engine, receiver, make_endpoint):
    make_endpoint()
    [msg_id] = publish(engine, "response.completed")
    drain(engine)

    [got] = receiver.received
    assert got.verified and got.msg_id == msg_id
    body = got.json
    assert set(body) == {"type", "timestamp", "data"} and body["type"] == "response.completed"
    assert body["data"] == sample_event("response.completed")["data"]
    assert got.headers["content-type"] == "application/json"
    assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 60
    stored = message(engine, msg_id)
    assert stored.status == "delivered" and stored.delivered_at is not None and stored.attempts == 1
    [attempt] = attempts(engine, msg_id)
    assert attempt.status_code == 200 and attempt.latency_ms is not None and attempt.error is None
    assert attempt.response_snippet == '{"ok":true}'


def test_a_receiver_on_ipv6_gets_its_message_at_the_address_its_url_names(engine):
    """An endpoint URL with an IPv6 literal (a CRM behind an IPv6-only load balancer): the address check passes
    it on, the sender connects to it and names it in Host as the URL does, and the message verifies."""
    receiver = Receiver(host="::1").start()
    try:
        with Session(engine, expire_on_commit=False) as session:
            _, secret = create_endpoint(session, EndpointCreate.model_validate(
                {"url": receiver.url, "event_types": ["response.completed"]}))
            session.commit()
        receiver.secrets.append(secret)
        [msg_id] = publish(engine, "response.completed")
        drain(engine)
        [got] = receiver.received
        assert got.verified and got.msg_id == msg_id and got.path == "/hooks/voc"
        assert got.headers["host"] == f"[::1]:{receiver.port}"
        assert message(engine, msg_id).status == "delivered"
    finally:
        receiver.stop()


def test_changed_body_changed_timestamp_and_old_timestamp_fail_verification(engine, receiver, make_endpoint,
                                                                            monkeypatch):
    _, secret = make_endpoint()
    publish(engine)
    drain(engine)
    [got] = receiver.received
    webhook = Webhook(secret)
    webhook.verify(got.body, got.headers)
    with pytest.raises(WebhookVerificationError):
        webhook.verify(got.body.replace(b"0035e00000Xy7AbQAJ", b"0035e00000Xy7AbQAK"), got.headers)
    with pytest.raises(WebhookVerificationError):
        webhook.verify(got.body, {**got.headers, "webhook-timestamp": str(int(got.headers["webhook-timestamp"]) + 1)})

    # A message signed ten minutes ago (a replayed capture) is refused by the receiver...
    monkeypatch.setattr(delivery, "clock", lambda: time.time() - 600)
    [old] = publish(engine)
    drain(engine)
    assert receiver.received[-1].msg_id == old and not receiver.received[-1].verified
    assert "too old" in receiver.received[-1].error
    # ...and its 401 is not retried: the message is dead at once.
    assert message(engine, old).status == "dead"
    assert [a.status_code for a in attempts(engine, old)] == [401]


def test_5xx_is_retried_with_the_same_webhook_id_and_every_attempt_is_logged(engine, receiver, make_endpoint):
    receiver.responder = answer_with(503, 500, 200)
    make_endpoint()
    [msg_id] = publish(engine)
    drain(engine)

    assert [r.msg_id for r in receiver.received] == [msg_id] * 3
    assert all(r.verified for r in receiver.received)
    stored = message(engine, msg_id)
    assert stored.status == "delivered" and stored.attempts == 3
    log = attempts(engine, msg_id)
    assert [a.status_code for a in log] == [503, 500, 200]
    assert log[0].response_snippet == '{"status":503}' and log[0].error == "HTTP 503"


def test_schedule_exhausted_makes_the_message_dead(engine, receiver, make_endpoint, monkeypatch):
    # The endpoint is disabled once it has failed for longer than the whole schedule: the last retry's wait
    # is most of it, so three attempts fit in it however slowly a busy machine runs them.
    set_env(monkeypatch, webhook_retry_schedule="0.05,0.05,1")
    receiver.responder = answer_with(502)
    endpoint_id, _ = make_endpoint()
    [msg_id] = publish(engine)
    drain(engine)

    assert len(receiver.received) == 4  # the first attempt and three retries (VOC_WEBHOOK_RETRY_SCHEDULE)
    stored = message(engine, msg_id)
    assert stored.status == "dead" and stored.last_status_code == 502 and stored.next_attempt_at is None
    assert endpoint(engine, endpoint_id).failing_since is not None


def test_429_retry_after_is_honoured(engine, receiver, make_endpoint, monkeypatch):
    set_env(monkeypatch, webhook_retry_schedule="0.05,3")
    receiver.responder = answer_with((429, {"Retry-After": "1"}), 200)
    make_endpoint()
    [msg_id] = publish(engine)
    drain(engine)

    first, second = receiver.received
    assert first.msg_id == second.msg_id == msg_id
    assert 0.9 <= second.at - first.at < 2.5  # Retry-After (1 s), not the schedule's 0.05 s
    assert message(engine, msg_id).status == "delivered"


def test_timeouts_are_retried(engine, receiver, make_endpoint, monkeypatch):
    # A schedule long enough that four slow attempts fit before the endpoint counts as failing too long
    # (each 0.1 s, and on a busy machine much more: seen 0.8 s).
    set_env(monkeypatch, webhook_timeout_seconds="0.1", webhook_retry_schedule="0.05,0.05,2")
    receiver.delay = 0.3
    make_endpoint()
    [slow] = publish(engine)
    drain(engine)
    log = attempts(engine, slow)
    assert len(log) == 4 and all(a.error == "timed out after 0.1 s" and a.status_code is None for a in log)
    assert message(engine, slow).status == "dead"


def test_refused_connections_are_retried(engine, receiver, make_endpoint):
    make_endpoint()
    receiver.stop()
    [refused] = publish(engine)
    drain(engine)
    log = attempts(engine, refused)
    assert len(log) == 4 and all("ConnectError" in a.error for a in log)
    assert message(engine, refused).status == "dead"


def test_410_disables_the_endpoint(engine, receiver, make_endpoint):
    receiver.responder = answer_with(410)
    endpoint_id, _ = make_endpoint()
    [msg_id] = publish(engine)
    drain(engine)

    assert len(receiver.received) == 1 and message(engine, msg_id).status == "dead"
    gone = endpoint(engine, endpoint_id)
    assert not gone.enabled and "410 Gone" in gone.disabled_reason
    assert publish(engine) == []  # a disabled endpoint gets no new messages


def test_other_4xx_is_dead_at_once_and_replays_with_the_same_id(engine, receiver, make_endpoint):
    receiver.responder = answer_with(400, 200)
    endpoint_id, _ = make_endpoint()
    [msg_id] = publish(engine)
    drain(engine)
    assert message(engine, msg_id).status == "dead" and len(receiver.received) == 1

    with Session(engine, expire_on_commit=False) as session:
        outbox.replay(session, message(engine, msg_id))
        session.commit()
    drain(engine)
    assert [r.msg_id for r in receiver.received] == [msg_id, msg_id]
    assert message(engine, msg_id).status == "delivered"
    assert [a.status_code for a in attempts(engine, msg_id)] == [400, 200]


def test_redirects_are_not_followed(engine, receiver, make_endpoint):
    receiver.responder = answer_with((302, {"Location": "http://127.0.0.1:9/elsewhere"}))
    make_endpoint()
    [msg_id] = publish(engine)
    drain(engine)
    assert len(receiver.received) == 1
    stored = message(engine, msg_id)
    assert stored.status == "dead" and "redirect to http://127.0.0.1:9/elsewhere not followed" in stored.last_error


def test_an_endpoint_failing_longer_than_the_schedule_is_disabled_and_says_so(engine, receiver, make_endpoint):
    receiver.responder = answer_with(500)
    endpoint_id, _ = make_endpoint()
    update_endpoint(engine, endpoint_id, failing_since=utcnow() - timedelta(hours=1))
    [msg_id] = publish(engine)
    drain(engine)

    assert len(receiver.received) == 1
    disabled = endpoint(engine, endpoint_id)
    assert not disabled.enabled and "longer than the whole retry schedule (0.35 s)" in disabled.disabled_reason
    stored = message(engine, msg_id)
    assert stored.status == "dead" and stored.last_error.startswith("endpoint disabled: failing since")


def test_a_success_clears_the_failure(engine, receiver, make_endpoint):
    endpoint_id, _ = make_endpoint()
    update_endpoint(engine, endpoint_id, failing_since=utcnow() - timedelta(seconds=0.1))
    publish(engine)
    drain(engine)
    assert endpoint(engine, endpoint_id).failing_since is None


def test_the_address_is_checked_again_at_send_time(engine, receiver, make_endpoint, monkeypatch):
    make_endpoint()  # saved while loopback receivers are allowed
    set_env(monkeypatch, webhook_allow_private="false")
    [msg_id] = publish(engine)
    drain(engine)
    assert receiver.received == []
    log = attempts(engine, msg_id)
    assert log and log[0].error == "not sent: 127.0.0.1 is a loopback address" and log[0].status_code is None


def test_custom_headers_are_sent_encrypted_at_rest_and_never_logged(engine, receiver, make_endpoint, caplog):
    caplog.set_level(logging.DEBUG)
    endpoint_id, secret = make_endpoint(headers={"Authorization": "Bearer crm-token-123"})
    publish(engine)
    drain(engine)
    assert receiver.received[0].headers["authorization"] == "Bearer crm-token-123"
    stored = endpoint(engine, endpoint_id)
    assert "crm-token-123" not in json.dumps(stored.headers) and secret not in stored.secret
    assert "crm-token-123" not in caplog.text and secret not in caplog.text


def test_rotation_signs_with_both_secrets_during_the_grace_period(engine, receiver, make_endpoint):
    endpoint_id, old = make_endpoint()
    with Session(engine, expire_on_commit=False) as session:
        _, new = rotate_secret(session, endpoint_id, grace_hours=1)
        session.commit()
    publish(engine)
    drain(engine)
    got = receiver.received[-1]
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(got.body, got.headers)
    Webhook(new).verify(got.body, got.headers)

    update_endpoint(engine, endpoint_id, previous_secret_expires_at=utcnow() - timedelta(seconds=1))
    receiver.secrets[:] = [new]
    publish(engine)
    drain(engine)
    got = receiver.received[-1]
    assert got.verified and len(got.headers["webhook-signature"].split(" ")) == 1
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(got.body, got.headers)


@pytest.mark.parametrize("preset", ["hubspot-contact-properties", "salesforce-sobject"])
def test_presets_reach_the_receiver_signed_over_the_mapped_body(engine, receiver, make_endpoint, preset):
    make_endpoint(preset=preset)
    publish(engine, "contact.experience_updated")
    drain(engine)
    got = receiver.received[0]
    assert got.verified and got.method == "PATCH"  # a CRM preset's method, to a URL given as is
    if preset == "hubspot-contact-properties":
        assert got.json["properties"]["voc_nps_category"] == "promoter"
    else:
        assert got.json["Voc_NPS_Category__c"] == "Promoter" and got.json["Voc_Last_NPS__c"] == 9


def test_a_template_that_fails_on_real_data_kills_the_message_with_the_reason(engine, receiver, make_endpoint):
    make_endpoint(event_types=["response.completed"],
                  template='{"third": {{ data.response.answers[2].value|tojson }}}')
    data = sample_event("response.completed")["data"]
    data["response"]["answers"] = data["response"]["answers"][:1]
    [msg_id] = publish(engine, "response.completed", data)
    drain(engine)
    assert receiver.received == []
    stored = message(engine, msg_id)
    assert stored.status == "dead" and "not sent: the template fails" in stored.last_error


def test_a_stale_or_repeated_job_sends_nothing_more(engine, receiver, make_endpoint):
    make_endpoint()
    [msg_id] = publish(engine)
    drain(engine)
    with Session(engine, expire_on_commit=False) as session:
        stored = message(engine, msg_id)
        enqueue(session, "webhook.deliver", {"message_id": stored.id, "attempt": 0})
        enqueue(session, "webhook.deliver", {"message_id": stored.id, "attempt": 1})
        enqueue(session, "webhook.deliver", {"message_id": 999_999, "attempt": 0})
        session.commit()
    drain(engine)
    assert len(receiver.received) == 1


def test_only_enabled_subscribed_endpoints_get_messages_and_dedupe_keys_hold(engine, receiver, make_endpoint):
    first, _ = make_endpoint(event_types=["response.completed"])
    make_endpoint(event_types=["invitation.created"])
    make_endpoint(event_types=["response.completed"], enabled=False)
    assert len(publish(engine, "response.completed", dedupe_key="r:1")) == 1
    assert publish(engine, "response.completed", dedupe_key="r:1") == []
    assert message(engine, publish(engine, "response.completed")[0]).endpoint_id == first
    with Session(engine, expire_on_commit=False) as session:
        assert session.get(WebhookEndpoint, first).enabled


def test_endpoints_changed_in_a_transaction_count_for_what_it_publishes_next(engine, receiver, make_endpoint):
    # The enabled endpoints are read once a transaction (an answer's job publishes three events); a change
    # made in the same transaction, or a rolled-back one, must not leave a stale list behind.
    first, _ = make_endpoint(event_types=["response.completed"])
    data = sample_event("response.completed")["data"]
    with Session(engine, expire_on_commit=False) as session:
        assert [m.endpoint_id for m in outbox.publish(session, "response.completed", data)] == [first]
        disabled = session.get(WebhookEndpoint, first)
        disabled.enabled = False
        session.add(disabled)
        session.flush()
        assert outbox.publish(session, "response.completed", data) == []
        second, _ = create_endpoint(session, EndpointCreate(url=receiver.url, event_types=["response.completed"]))
        assert [m.endpoint_id for m in outbox.publish(session, "response.completed", data)] == [second.id]
        session.rollback()
        # Rolled back: the first endpoint is enabled again, the second never was.
        assert [m.endpoint_id for m in outbox.publish(session, "response.completed", data)] == [first]
        session.commit()


def test_the_messages_of_a_claimed_batch_load_together_each_with_its_own_verdict(engine, receiver, make_endpoint):
    endpoint_id, _ = make_endpoint()
    data = sample_event("contact.experience_updated")["data"]
    first, second, other = (message(engine, msg_id).id for msg_id in [
        *publish(engine, "contact.experience_updated", {**data, "contact": {"external_id": "a", "crm": "x"}}),
        *publish(engine, "contact.experience_updated", {**data, "contact": {"external_id": "a", "crm": "x"}}),
        *publish(engine, "contact.experience_updated", {**data, "contact": {"external_id": "b", "crm": "x"}})])
    payloads = [{"message_id": first, "attempt": 0}, {"message_id": second, "attempt": 0},
                {"message_id": other, "attempt": 0}, {"message_id": other, "attempt": 2},
                {"message_id": 999_999, "attempt": 0}]
    with session_scope(reading(engine)) as session:
        loaded = delivery.load_deliveries(session, payloads)
    ready, waiting, also_ready, replayed, deleted = loaded
    assert ready.message_id == first and ready.url == receiver.url and ready.endpoint_id == endpoint_id
    assert json.loads(ready.body)["data"]["contact"]["external_id"] == "a" and ready.secrets
    assert isinstance(waiting, Defer)  # the same contact's earlier message goes first
    assert delivery.ORDER_WAIT_SECONDS[0] <= waiting.delay <= delivery.ORDER_WAIT_SECONDS[1]
    assert also_ready.message_id == other and json.loads(also_ready.body)["data"]["contact"]["external_id"] == "b"
    assert replayed is None and deleted is None  # a stale attempt count, a message that is gone
