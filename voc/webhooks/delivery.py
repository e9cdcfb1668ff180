"""One delivery attempt: load the message, sign it, POST it to a vetted address, and settle the result.

The POST happens with no database transaction open (on SQLite a transaction holds the write lock, and
a receiver may take seconds). Loading uses its own short session; the result is written in the job's
session, so the attempt row, the message state and the next job commit together with the job's end.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from voc import __version__
from voc.config import get_settings
from voc.db import session_scope, utcnow
from voc.errors import VocError
from voc.webhooks import transport
from voc.webhooks.endpoints import custom_headers, disable_endpoint, signing_secrets
from voc.webhooks.mapping import render_payload
from voc.webhooks.models import MessageStatus, WebhookAttempt, WebhookEndpoint, WebhookMessage
from voc.webhooks.outbox import schedule_delivery
from voc.webhooks.signing import webhook_headers
from voc.webhooks.ssrf import UnsafeUrlError, resolve_and_check

log = logging.getLogger(__name__)

JITTER = 0.2  # ±20%, so receivers that fail together are not retried in lockstep


@dataclass
class Delivery:
    """What one attempt needs, read in a short transaction and carried across the POST."""

    message_id: int
    msg_id: str
    endpoint_id: int
    round_attempts: int  # attempts before this one in the current round
    url: str = ""
    body: bytes = b""
    secrets: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    problem: str | None = None  # cannot be sent at all: the message dies without a POST
    disabled: str | None = None  # the endpoint is disabled: the message dies without an attempt


@dataclass
class Outcome:
    kind: str  # delivered | retry | gone | rejected
    status_code: int | None = None
    latency_ms: int | None = None
    snippet: str | None = None
    error: str | None = None
    retry_after: float | None = None


def clock() -> float:
    """Seconds since the epoch for webhook-timestamp (a seam for tests)."""
    return time.time()


def load_delivery(engine: Engine, message_id: int, expected_attempts: int) -> Delivery | None:
    """The message ready to send, or None when the job is stale (delivered, dead, replayed, deleted)."""
    with session_scope(engine) as session:
        message = session.get(WebhookMessage, message_id)
        if message is None or message.status in (MessageStatus.delivered, MessageStatus.dead):
            return None
        if message.attempts != expected_attempts:
            return None
        endpoint = session.get(WebhookEndpoint, message.endpoint_id)
        delivery = Delivery(message.id, message.msg_id, endpoint.id, message.attempts, url=endpoint.url)
        if not endpoint.enabled and not message.test:
            delivery.disabled = endpoint.disabled_reason or "disabled"
            return delivery
        try:
            delivery.body = render_payload(endpoint.template, endpoint.preset, message.payload)
            delivery.secrets = signing_secrets(endpoint)
            delivery.headers = custom_headers(endpoint)
        except (VocError, ValueError) as exc:  # a template that fails on this data, an unreadable secret
            delivery.problem = str(exc)
        return delivery


def attempt(delivery: Delivery) -> Outcome:
    """Vet the address again (DNS may have changed), sign with a fresh timestamp, POST, classify."""
    settings = get_settings()
    try:
        addresses = resolve_and_check(delivery.url, settings.webhook_allow_private)
    except UnsafeUrlError as exc:
        # Nothing was sent. Retried like a network error: DNS that briefly points inward may point back,
        # and a lasting refusal still ends in a dead message and, later, a disabled endpoint.
        return Outcome("retry", error=f"not sent: {exc.message}")
    headers = {**delivery.headers, "user-agent": f"voc-webhooks/{__version__}",
               **webhook_headers(delivery.secrets, delivery.msg_id, int(clock()), delivery.body)}
    answer = transport.post(delivery.url, addresses[0], delivery.body, headers, settings.webhook_timeout_seconds)
    if answer.error:
        return Outcome("retry", latency_ms=answer.latency_ms, error=answer.error)
    code = answer.status_code
    if 200 <= code < 300:
        kind = "delivered"
    elif code == 410:
        kind = "gone"
    elif code in (408, 429) or code >= 500:
        kind = "retry"
    else:  # other 4xx, and redirects, which are never followed: sending again would get the same
        kind = "rejected"
    error = None if kind == "delivered" else f"HTTP {code}"
    if answer.location:
        error = f"HTTP {code}: redirect to {answer.location[:200]} not followed"
    return Outcome(kind, status_code=code, latency_ms=answer.latency_ms, snippet=answer.snippet, error=error,
                   retry_after=answer.retry_after)


def retry_delay(round_attempts: int, retry_after: float | None) -> float | None:
    """Seconds until the next attempt after `round_attempts` failures, or None when the schedule is spent."""
    schedule = get_settings().webhook_retry_schedule
    if round_attempts > len(schedule):
        return None
    delay = schedule[round_attempts - 1] * random.uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None:
        # Honoured when longer, but capped: a receiver may slow voc down, not park a message for weeks.
        delay = max(delay, min(retry_after, max(schedule)))
    return delay


def settle(session: Session, delivery: Delivery, outcome: Outcome | None) -> str | None:
    """Write the attempt and the message's new state; schedule the next attempt. Returns the new status."""
    if outcome is None and delivery.disabled:
        return _set_state(session, delivery, status=MessageStatus.dead,
                          last_error=f"endpoint disabled: {delivery.disabled}"[:1000])
    if outcome is None:  # a template that fails on this event, or a secret that does not open
        outcome = Outcome("rejected", error=f"not sent: {delivery.problem}")
    now = utcnow()
    attempts = delivery.round_attempts + 1
    log.info("webhook %s attempt %d to endpoint %d: %s", delivery.msg_id, attempts, delivery.endpoint_id,
             outcome.status_code or outcome.error)
    values: dict[str, object] = {"attempts": attempts, "last_status_code": outcome.status_code,
                                 "last_error": outcome.error and outcome.error[:1000]}
    delay = retry_delay(attempts, outcome.retry_after) if outcome.kind == "retry" else None
    if outcome.kind == "delivered":
        values.update(status=MessageStatus.delivered, delivered_at=now)
    elif delay is None:
        values.update(status=MessageStatus.dead)
    else:
        values.update(status=MessageStatus.failed, next_attempt_at=now + timedelta(seconds=delay))
    status = _set_state(session, delivery, **values)
    # The attempt is logged even when a replay took the message over meanwhile; not when it was deleted.
    if status is not None or session.get(WebhookMessage, delivery.message_id) is not None:
        session.add(WebhookAttempt(message_id=delivery.message_id, attempted_at=now, status_code=outcome.status_code,
                                   latency_ms=outcome.latency_ms, response_snippet=outcome.snippet,
                                   error=values["last_error"]))
    if status == MessageStatus.delivered:
        # Conditional, so it writes (and locks the endpoint row) only when the endpoint was failing.
        session.execute(update(WebhookEndpoint)
                        .where(WebhookEndpoint.id == delivery.endpoint_id, WebhookEndpoint.failing_since.is_not(None))
                        .values(failing_since=None).execution_options(synchronize_session=False))
    elif status is not None:
        if status == MessageStatus.failed:
            schedule_delivery(session, session.get(WebhookMessage, delivery.message_id), attempt=attempts,
                              run_at=values["next_attempt_at"])
        _note_failure(session, delivery.endpoint_id, outcome)
    return status


def _set_state(session: Session, delivery: Delivery, **values: object) -> str | None:
    # Compare-and-set on the attempt count: if the message was replayed while this attempt ran, the
    # newer round owns it and this result only stays in the attempt log.
    changed = session.execute(
        update(WebhookMessage)
        .where(WebhookMessage.id == delivery.message_id, WebhookMessage.attempts == delivery.round_attempts,
               WebhookMessage.status.in_([MessageStatus.pending, MessageStatus.failed]))
        .values(**{"next_attempt_at": None, **values})
        .execution_options(synchronize_session=False)
    ).rowcount
    return str(values["status"]) if changed else None


def _note_failure(session: Session, endpoint_id: int, outcome: Outcome) -> None:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or not endpoint.enabled:
        return
    now = utcnow()
    if outcome.kind == "gone":
        disable_endpoint(session, endpoint, f"the receiver answered 410 Gone at {now:%Y-%m-%d %H:%M:%S} UTC")
        return
    if endpoint.failing_since is None:
        endpoint.failing_since = now
        session.add(endpoint)
        return
    window = sum(get_settings().webhook_retry_schedule)
    if now - endpoint.failing_since > timedelta(seconds=window):
        disable_endpoint(session, endpoint, f"failing since {endpoint.failing_since:%Y-%m-%d %H:%M:%S} UTC, "
                                            f"longer than the whole retry schedule ({window:g} s)")
