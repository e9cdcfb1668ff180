"""One delivery attempt: load the message, sign it, send it to a vetted address, and record the result.

The request happens with no database transaction open (on SQLite a transaction holds the write lock, and
a receiver may take seconds). The worker loads the messages of the deliveries it claimed together in one
short read (load_deliveries); the result is written in the transaction that ends the job, so the attempt
rows, the message state and the next job commit together with the job's end (voc.jobs.queue.Stages: the
results of deliveries that end together share that transaction).
CRM presets read their CRM's answers (voc.crm): a missing contact, refused credentials (the endpoint's
deliveries are then held, voc.webhooks.holds), an expired Salesforce token (fetched again once).
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Integer, bindparam, func, literal, or_, select, update
from sqlmodel import Session

from voc import __version__
from voc.config import get_settings
from voc.crm import hubspot, salesforce
from voc.crm.http import Verdict
from voc.crm.models import CrmConnection
from voc.db import Prepared, Sized, utcnow
from voc.errors import VocError
from voc.jobs.queue import Defer
from voc.telemetry import WEBHOOK_ATTEMPTS, WEBHOOK_FAILURES, WEBHOOK_SECONDS
from voc.webhooks import holds, transport
from voc.webhooks.alerts import ALERT_PRESETS, alert_context
from voc.webhooks.endpoints import custom_headers, disable_endpoint, signing_secrets
from voc.webhooks.mapping import render_payload
from voc.webhooks.models import MessageStatus, WebhookAttempt, WebhookEndpoint, WebhookMessage
from voc.webhooks.outbox import schedule_delivery
from voc.webhooks.sealing import seal, unseal
from voc.webhooks.signing import webhook_headers
from voc.webhooks.ssrf import UnsafeUrlError, resolve_and_check
from voc.webhooks.targets import contact_external_id, fill_instance_url, preset_target, resolve_url

log = logging.getLogger(__name__)

JITTER = 0.2  # ±20%, so receivers that fail together are not retried in lockstep


@dataclass
class OAuth:
    """A Salesforce connection's credentials and cached token, read with the message."""

    connection_id: int
    login_url: str
    client_id: str
    client_secret: str
    token: salesforce.Token | None
    as_of: datetime  # the connection's updated_at: a token fetched with older credentials is not cached


@dataclass
class Delivery:
    """What one attempt needs, read in a short transaction and carried across the request."""

    message_id: int
    msg_id: str
    endpoint_id: int
    round_attempts: int  # attempts before this one in the current round
    method: str = "POST"
    url: str = ""  # resolved from the endpoint's template (a Salesforce instance URL still to fill in)
    body: bytes = b""
    secrets: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    test: bool = False
    crm: str | None = None  # "hubspot" | "salesforce": whose answers these are
    external_id: str | None = None
    id_field: str | None = None  # Salesforce: the external-id field, for messages
    create_url: str | None = None  # HubSpot create_missing: where a missing contact is made...
    create_body: bytes = b""  # ...and with what
    oauth: OAuth | None = None
    credentials_as_of: datetime | None = None  # the endpoint's updated_at when read
    credentials_rejected: bool = False  # the endpoint's deliveries were held when read (a test goes out anyway)
    problem: str | None = None  # cannot be sent at all: the message dies without a request
    disabled: str | None = None  # the endpoint is disabled: the message dies without an attempt
    held: str | None = None  # the CRM refused the endpoint's credentials: the message waits, unsent


@dataclass
class Outcome:
    kind: str  # delivered | retry | gone | rejected | missing | credentials
    status_code: int | None = None
    latency_ms: int | None = None
    snippet: str | None = None
    error: str | None = None
    retry_after: float | None = None
    method: str | None = None
    url: str | None = None
    earlier: list[Outcome] = field(default_factory=list)  # requests before this one in the same attempt
    token: salesforce.Token | None = None  # a new Salesforce token, to cache


def clock() -> float:
    """Seconds since the epoch for webhook-timestamp (a seam for tests)."""
    return time.time()


_M, _E, _A = WebhookMessage.__table__, WebhookEndpoint.__table__, WebhookAttempt.__table__
_MESSAGE = ("id", "msg_id", "endpoint_id", "order_key", "test", "payload", "status", "attempts")
_ENDPOINT = ("url", "method", "enabled", "disabled_reason", "headers", "preset", "template", "options",
             "connection_id", "credentials_rejected_at", "credentials_rejected_reason", "secret",
             "previous_secret", "previous_secret_expires_at", "updated_at")
_WAITING = (MessageStatus.pending.value, MessageStatus.failed.value, MessageStatus.held.value)
_EARLIER_M = _M.alias("earlier")
# The first earlier message to the same endpoint about the same contact still waiting to go, if any.
_FIRST_EARLIER = (select(_EARLIER_M.c.id).where(
    _EARLIER_M.c.endpoint_id == _M.c.endpoint_id, _EARLIER_M.c.order_key == _M.c.order_key, _EARLIER_M.c.id < _M.c.id,
    or_(*(_EARLIER_M.c.status == literal(status) for status in _WAITING)))
    .order_by(_EARLIER_M.c.id).limit(1).scalar_subquery())
# Every delivery runs these: compiled once (per batch size), run on the cursor (voc.db.Prepared), no ORM objects.
# n messages with their endpoints, and for each the earlier message that must go first, in one statement.
_LOAD = Sized(lambda n: select(*(_M.c[name] for name in _MESSAGE), *(_E.c[name] for name in _ENDPOINT),
                               _FIRST_EARLIER)
              .select_from(_M.join(_E, _E.c.id == _M.c.endpoint_id))
              .where(_M.c.id.in_([bindparam(f"m{i}", type_=Integer) for i in range(n)])))
_DUE = Prepared(select(_M.c.next_attempt_at).where(_M.c.id == bindparam("message")))


def load_deliveries(session: Session, payloads: list[dict[str, Any]]) -> list[Delivery | Defer | None]:
    """The messages of several deliver jobs (their payloads) in one read: for each, what to send, or a Defer
    (an earlier message to the same endpoint about the same contact goes first), or None when the job is
    stale (delivered, dead, replayed since, deleted).

    Only reads: on SQLite it takes no write lock, so the deliveries never queue behind each other (or
    behind the answers being stored) to read what they send."""
    ids = list(dict.fromkeys(payload["message_id"] for payload in payloads))
    rows = {row[0]: row for row in _LOAD(len(ids)).all(session.connection(), {f"m{i}": message_id
                                                                              for i, message_id in enumerate(ids)})}
    return [_delivery(session, rows.get(payload["message_id"]), payload.get("attempt", 0)) for payload in payloads]


def _delivery(session: Session, row: tuple | None, expected_attempts: int) -> Delivery | Defer | None:
    if row is None:
        return None
    message = SimpleNamespace(**dict(zip(_MESSAGE, row[:len(_MESSAGE)], strict=True)))
    endpoint = SimpleNamespace(id=message.endpoint_id,
                               **dict(zip(_ENDPOINT, row[len(_MESSAGE):len(_MESSAGE) + len(_ENDPOINT)], strict=True)))
    earlier = row[-1]
    if message.status in (MessageStatus.delivered, MessageStatus.dead, MessageStatus.held):
        return None
    if message.attempts != expected_attempts:
        return None
    delivery = Delivery(message.id, message.msg_id, endpoint.id, message.attempts, method=endpoint.method,
                        url=endpoint.url, test=message.test, crm=preset_target(endpoint.preset).crm,
                        credentials_as_of=endpoint.updated_at,
                        credentials_rejected=endpoint.credentials_rejected_at is not None)
    if not endpoint.enabled and not message.test:
        delivery.disabled = endpoint.disabled_reason or "disabled"
        return delivery
    if endpoint.credentials_rejected_at is not None and not message.test:
        # A test is still sent: it is how an admin checks credentials fixed on the CRM's side.
        delivery.held = endpoint.credentials_rejected_reason or "the CRM refused the credentials"
        return delivery
    if earlier is not None:
        return Defer(f"an earlier message to {message.order_key} goes first", _wait_for(session, earlier))
    try:
        _prepare(session, endpoint, message, delivery)
    except (VocError, ValueError) as exc:  # a template that fails on this data, no contact, an unreadable secret
        delivery.problem = str(exc)
    return delivery


ORDER_WAIT_SECONDS = (0.1, 60.0)  # shortest and longest wait for an earlier message


def _wait_for(session: Session, earlier: int) -> float:
    """Seconds to wait when an earlier message to the same endpoint about the same contact is not yet
    delivered (or given up): it must arrive first, so that an older contact.experience_updated never
    lands after a newer one. A wait lasts until the earlier one's next attempt."""
    row = _DUE.first(session.connection(), {"message": earlier})
    due = (row[0] - utcnow()).total_seconds() if row and row[0] else 0.0
    shortest, longest = ORDER_WAIT_SECONDS
    return min(longest, max(shortest, due + shortest))


def _prepare(session: Session, endpoint: Any, message: Any, delivery: Delivery) -> None:
    context = alert_context(session, message.payload) if endpoint.preset in ALERT_PRESETS else None
    delivery.body = render_payload(endpoint.template, endpoint.preset, message.payload, context)
    delivery.url = resolve_url(endpoint.url, message.payload)
    delivery.secrets = signing_secrets(endpoint)
    delivery.headers = custom_headers(endpoint)
    delivery.external_id = contact_external_id(message.payload)
    options = endpoint.options or {}
    if delivery.crm == "salesforce":
        delivery.id_field = options.get("external_id_field", salesforce.DEFAULT_EXTERNAL_ID_FIELD)
    id_property = options.get("id_property")
    if delivery.crm == "hubspot" and options.get("create_missing") and id_property and delivery.external_id:
        update_body = json.loads(delivery.body)
        delivery.create_url = hubspot.create_url(options.get("base_url") or hubspot.API_URL)
        delivery.create_body = json.dumps(
            hubspot.create_body(update_body if isinstance(update_body, dict) else {}, id_property,
                                delivery.external_id), separators=(",", ":"), ensure_ascii=False).encode()
    if endpoint.connection_id is not None:
        connection = session.get(CrmConnection, endpoint.connection_id)
        token = None
        if connection.access_token and connection.instance_url:
            token = salesforce.Token(unseal(connection.access_token), connection.instance_url)
        delivery.oauth = OAuth(connection.id, connection.login_url, connection.client_id,
                               unseal(connection.client_secret), token, connection.updated_at)


def attempt(delivery: Delivery) -> Outcome:
    """Vet the address again (DNS may have changed), sign with a fresh timestamp, send, classify; for a CRM,
    fetch a token first or again, or create the missing contact, as the endpoint says."""
    if delivery.oauth is not None:
        return _attempt_with_token(delivery, delivery.oauth)
    outcome = _request(delivery, delivery.method, delivery.url, delivery.body)
    if outcome.kind == "session":  # a Salesforce 401 with a token given in the headers: nothing to refresh
        outcome.kind = "credentials"
    if outcome.kind == "missing" and delivery.create_url:
        created = _request(delivery, "POST", delivery.create_url, delivery.create_body, creating=True)
        created.earlier = [outcome]
        return created
    return outcome


def _attempt_with_token(delivery: Delivery, oauth: OAuth) -> Outcome:
    earlier: list[Outcome] = []
    token, fresh = oauth.token, None
    if token is None:
        token = fresh = _fetch_token(oauth, earlier)
        if token is None:
            return earlier.pop()
    outcome = _with_token(delivery, token)
    if outcome.kind == "session" and fresh is None:  # expired: one new token, one more try
        earlier.append(outcome)
        token = fresh = _fetch_token(oauth, earlier)
        if token is None:
            return earlier.pop()
        outcome = _with_token(delivery, token)
    if outcome.kind == "session":
        outcome.kind = "credentials"
        outcome.error = f"{outcome.error}, with a new token too: check the connected app and its run-as user"
    outcome.earlier, outcome.token = earlier, fresh
    return outcome


def _fetch_token(oauth: OAuth, earlier: list[Outcome]) -> salesforce.Token | None:
    """A new token; or None, with the failed token request appended to `earlier` as the outcome."""
    got = salesforce.request_token(oauth.login_url, oauth.client_id, oauth.client_secret)
    if got.token is None:
        earlier.append(Outcome(got.verdict.kind, status_code=got.status_code, latency_ms=got.latency_ms,
                               snippet=got.snippet, error=got.verdict.reason, method="POST",
                               url=salesforce.token_url(oauth.login_url), earlier=list(earlier)))
    return got.token


def _with_token(delivery: Delivery, token: salesforce.Token) -> Outcome:
    return _request(delivery, delivery.method, fill_instance_url(delivery.url, token.instance_url), delivery.body,
                    authorization=f"Bearer {token.access_token}")


def _request(delivery: Delivery, method: str, url: str, body: bytes, *, authorization: str | None = None,
             creating: bool = False) -> Outcome:
    settings = get_settings()
    try:
        addresses = resolve_and_check(url, settings.webhook_allow_private)
    except UnsafeUrlError as exc:
        # Nothing was sent. Retried like a network error: DNS that briefly points inward may point back,
        # and a lasting refusal still ends in a dead message and, later, a disabled endpoint.
        return Outcome("retry", error=f"not sent: {exc.message}", method=method, url=url)
    headers = dict(delivery.headers)
    if authorization is not None:  # the connection's token, in place of any Authorization header given
        headers = {name: value for name, value in headers.items() if name.lower() != "authorization"}
        headers["authorization"] = authorization
    headers = {**headers, "user-agent": f"voc-webhooks/{__version__}",
               **webhook_headers(delivery.secrets, delivery.msg_id, int(clock()), body)}
    answer = transport.send(method, url, addresses[0], body, headers, settings.webhook_timeout_seconds,
                            read_limit=16 * 1024)
    if answer.error:
        return Outcome("retry", latency_ms=answer.latency_ms, error=answer.error, method=method, url=url)
    found = _verdict(delivery, answer.status_code, answer.content, creating)
    error = None if found.kind == "delivered" else found.reason or f"HTTP {answer.status_code}"
    if answer.location and found.kind != "delivered":
        found = Verdict("rejected")
        error = f"HTTP {answer.status_code}: redirect to {answer.location[:200]} not followed"
    return Outcome(found.kind, status_code=answer.status_code, latency_ms=answer.latency_ms, snippet=answer.snippet,
                   error=error, retry_after=answer.retry_after, method=method, url=url)


def _verdict(delivery: Delivery, code: int, content: bytes, creating: bool) -> Verdict:
    if delivery.crm == "hubspot":
        return hubspot.create_verdict(code, content) if creating else hubspot.verdict(code, content)
    if delivery.crm == "salesforce":
        return salesforce.verdict(code, content, field=delivery.id_field or salesforce.DEFAULT_EXTERNAL_ID_FIELD,
                                  external_id=delivery.external_id or "")
    if 200 <= code < 300:
        return Verdict("delivered")
    if code == 410:
        return Verdict("gone")
    if code in (408, 429) or code >= 500:
        return Verdict("retry")
    # other 4xx, and redirects, which are never followed: sending again would get the same
    return Verdict("rejected")


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


def send(delivery: Delivery) -> Outcome | None:
    """The attempt, counted for /metrics (whatever becomes of the transaction that records it); None when
    nothing may be sent (the endpoint disabled, its deliveries held, a message that cannot be sent)."""
    if delivery.problem is not None or delivery.disabled is not None or delivery.held is not None:
        return None
    outcome = attempt(delivery)
    count_attempt(delivery, outcome)
    return outcome


def record(session: Session, delivery: Delivery, outcome: Outcome | None) -> str | None:
    """Write the attempt and the message's new state; schedule the next attempt. Returns the new status.
    Only database writes: it may run again after a rollback."""
    if outcome is None and delivery.disabled:
        return _set_state(session, delivery, status=MessageStatus.dead,
                          last_error=f"endpoint disabled: {delivery.disabled}"[:1000])
    if outcome is None and delivery.held:
        return _set_state(session, delivery, status=MessageStatus.held, last_error=f"held: {delivery.held}"[:1000])
    if outcome is None:  # a template that fails on this event, no contact for the URL, a secret that does not open
        outcome = Outcome("rejected", error=f"not sent: {delivery.problem}")
    if outcome.token is not None and delivery.oauth is not None:
        _cache_token(session, delivery.oauth, outcome.token)
    kind = outcome.kind
    if kind == "credentials" and not holds.mark_credentials_rejected(
            session, delivery.endpoint_id, outcome.error or "credentials refused", delivery.credentials_as_of):
        kind = "retry"  # the credentials were replaced while this request was out: try the new ones
    now = utcnow()
    attempts = delivery.round_attempts + 1
    log.info("webhook %s attempt %d to endpoint %d: %s", delivery.msg_id, attempts, delivery.endpoint_id,
             outcome.status_code or outcome.error)
    values: dict[str, object] = {"attempts": attempts, "last_status_code": outcome.status_code,
                                 "last_error": outcome.error and outcome.error[:1000]}
    delay = retry_delay(attempts, outcome.retry_after) if kind == "retry" else None
    if kind == "delivered":
        values.update(status=MessageStatus.delivered, delivered_at=now)
    elif kind == "credentials" and not delivery.test:
        values.update(status=MessageStatus.held)  # sent again once the credentials are replaced
    elif delay is None:
        values.update(status=MessageStatus.dead)
    else:
        values.update(status=MessageStatus.failed, next_attempt_at=now + timedelta(seconds=delay))
    connection = session.connection()
    status = _settle_message(connection, delivery, values)
    # The attempt is logged even when a replay took the message over meanwhile; not when it was deleted.
    if status is not None or _EXISTS.first(connection, {"message": delivery.message_id}) is not None:
        _INSERT_ATTEMPT.run(connection, [
            {"message_id": delivery.message_id, "attempted_at": now, "method": sent.method,
             "url": sent.url and sent.url[:4096], "status_code": sent.status_code, "latency_ms": sent.latency_ms,
             "response_snippet": sent.snippet, "error": sent.error and sent.error[:1000]}
            for sent in [*outcome.earlier, outcome]])
    if status == MessageStatus.delivered:
        # Conditional, so it writes (and locks the endpoint row) only when the endpoint was failing.
        _RECOVERED.run(connection, {"endpoint": delivery.endpoint_id})
        if delivery.credentials_rejected:  # a test went out while the deliveries were held, and went through
            endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
            if endpoint is not None and endpoint.credentials_rejected_at is not None:
                holds.release_held(session, endpoint)  # the credentials work (fixed on the CRM's side): send the rest
    elif status is not None:
        if status == MessageStatus.failed:
            schedule_delivery(session, session.get(WebhookMessage, delivery.message_id), attempt=attempts,
                              run_at=values["next_attempt_at"])
        if kind in ("retry", "rejected", "gone"):  # a missing contact or refused credentials say nothing of the URL
            _note_failure(session, delivery.endpoint_id, Outcome(kind))
    return status


_SETTLE = Prepared(
    update(_M).where(_M.c.id == bindparam("message"), _M.c.attempts == bindparam("round"),
                     or_(_M.c.status == MessageStatus.pending.value, _M.c.status == MessageStatus.failed.value))
    .values(status=bindparam("status"), attempts=bindparam("attempts"), last_status_code=bindparam("code"),
            last_error=bindparam("error"), next_attempt_at=bindparam("next_attempt_at"),
            delivered_at=func.coalesce(bindparam("delivered_at", type_=_M.c.delivered_at.type), _M.c.delivered_at)))
_EXISTS = Prepared(select(_M.c.id).where(_M.c.id == bindparam("message")))
_INSERT_ATTEMPT = Prepared(_A.insert())
_RECOVERED = Prepared(update(_E).where(_E.c.id == bindparam("endpoint"), _E.c.failing_since.is_not(None))
                      .values(failing_since=None))


def _settle_message(connection: Any, delivery: Delivery, values: dict[str, Any]) -> str | None:
    """_set_state for an attempt's result, as one prepared statement (every delivery runs it)."""
    changed = _SETTLE.run(connection, {
        "message": delivery.message_id, "round": delivery.round_attempts, "status": str(values["status"]),
        "attempts": values["attempts"], "code": values["last_status_code"], "error": values["last_error"],
        "next_attempt_at": values.get("next_attempt_at"), "delivered_at": values.get("delivered_at")})
    return str(values["status"]) if changed else None


def count_attempt(delivery: Delivery, outcome: Outcome) -> None:
    endpoint = str(delivery.endpoint_id)
    WEBHOOK_ATTEMPTS.inc(endpoint)
    if outcome.kind != "delivered":
        WEBHOOK_FAILURES.inc(endpoint)
    if outcome.latency_ms is not None:
        WEBHOOK_SECONDS.observe(outcome.latency_ms / 1000, endpoint)


def _cache_token(session: Session, oauth: OAuth, token: salesforce.Token) -> None:
    """Keep a new access token (sealed) for the connection's next deliveries, unless its credentials changed."""
    session.execute(update(CrmConnection)
                    .where(CrmConnection.id == oauth.connection_id, CrmConnection.updated_at == oauth.as_of)
                    .values(access_token=seal(token.access_token), instance_url=token.instance_url,
                            token_issued_at=utcnow())
                    .execution_options(synchronize_session=False))


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
