"""Publishing events: one message per subscribed endpoint, each a delivery job in the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import event, select
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransactionOrigin, object_session
from sqlmodel import Session

from voc.config import get_settings
from voc.db import InsertOnce, Prepared, utcnow
from voc.errors import Conflict
from voc.jobs.queue import enqueue
from voc.surveys.experience import iso
from voc.surveys.models import Contact, Invitation, Response
from voc.webhooks import payloads
from voc.webhooks.alerts import wants_event
from voc.webhooks.endpoints import get_endpoint
from voc.webhooks.models import MessageStatus, WebhookEndpoint, WebhookMessage
from voc.webhooks.samples import EVENT_TYPES, sample_event
from voc.webhooks.signing import new_message_id

DELIVER_JOB = "webhook.deliver"

EventData = dict[str, Any] | Callable[[], dict[str, Any]]


_W, _M = WebhookEndpoint.__table__, WebhookMessage.__table__
# Every published event asks these (several per answer): prebuilt, rows rather than ORM objects.
_ENABLED = Prepared(select(_W.c.id, _W.c.event_types, _W.c.preset).where(_W.c.enabled.is_(True))
                    .order_by(_W.c.id))
# A message, unless its endpoint has one under the same dedupe key (NULL keys never collide). The unique index
# (endpoint, dedupe key) answers it: no read of the whole table first, which grows with every answer.
_INSERT = InsertOnce(_M, [_M.c.endpoint_id, _M.c.dedupe_key], _M.c.id)
_SUBSCRIPTIONS = "voc.webhooks.subscriptions"  # session.info: the enabled endpoints, read once a transaction


class Published(NamedTuple):
    """A message publish() queued (a row of webhook_message; no ORM object to build for each)."""

    id: int
    msg_id: str
    endpoint_id: int
    event_type: str


def subscribed_endpoints(session: Session, event_type: str) -> list[tuple[int, str]]:
    """The (id, preset) of the enabled endpoints that take `event_type` (few: filtered here, not in JSON SQL).

    Read once a transaction: an answer publishes three events, and a worker's batch of answers shares one
    transaction. An ORM change to an endpoint in the same session (_endpoint_changed), the transaction's end or
    a rolled-back savepoint (_forget_subscriptions) makes the next call read them again."""
    rows = session.info.get(_SUBSCRIPTIONS)
    if rows is None:
        rows = session.info[_SUBSCRIPTIONS] = _ENABLED.all(session.connection(), {})
    return [(endpoint_id, preset) for endpoint_id, event_types, preset in rows if event_type in event_types]


@event.listens_for(WebhookEndpoint, "after_insert")
@event.listens_for(WebhookEndpoint, "after_update")
@event.listens_for(WebhookEndpoint, "after_delete")
def _endpoint_changed(_mapper: Any, _connection: Any, endpoint: WebhookEndpoint) -> None:
    if (session := object_session(endpoint)) is not None:
        session.info.pop(_SUBSCRIPTIONS, None)


@event.listens_for(OrmSession, "after_transaction_end")
def _forget_subscriptions(session: OrmSession, transaction: Any) -> None:
    """A new transaction (or what a rolled-back savepoint undid) reads the endpoints afresh; a flush (a
    subtransaction of the session's own) ends nothing."""
    if transaction.origin is not SessionTransactionOrigin.SUBTRANSACTION:
        session.info.pop(_SUBSCRIPTIONS, None)


def publish(session: Session, event_type: str, data: EventData, *, dedupe_key: str | None = None
            ) -> list[Published]:
    """Queue `event_type` for every subscribed endpoint, in the caller's transaction.

    `data` may be a function, called only when some endpoint subscribes (a summary costs queries).
    With `dedupe_key`, an endpoint that already has a message under that key (from an earlier run, or earlier
    in this transaction) gets no second one, so a job that runs twice publishes once."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    endpoints = subscribed_endpoints(session, event_type)
    if not endpoints:
        return []
    body = {"type": event_type, "timestamp": iso(utcnow()), "data": data() if callable(data) else data}
    # Alert channels (Slack, Teams) hear of detractors only, not of every answer.
    endpoints = [endpoint for endpoint, preset in endpoints if wants_event(preset, event_type, body["data"])]
    if not endpoints:
        return []
    order_key = contact_order_key(body["data"])
    connection, now = session.connection(), utcnow()
    messages = []
    for endpoint in endpoints:
        msg_id = new_message_id()
        inserted = _INSERT.first(connection, {
            "msg_id": msg_id, "endpoint_id": endpoint, "event_type": event_type, "dedupe_key": dedupe_key,
            "order_key": order_key, "test": False, "payload": body, "status": MessageStatus.pending.value,
            "attempts": 0, "created_at": now})
        if inserted is None:  # published under this key before
            continue
        messages.append(Published(inserted[0], msg_id, endpoint, event_type))
        schedule_delivery(session, messages[-1], attempt=0)
    return messages


def contact_order_key(data: dict[str, Any]) -> str | None:
    """What orders an endpoint's messages: the contact the event is about, if any."""
    contact = data.get("contact") if isinstance(data, dict) else None
    if not isinstance(contact, dict) or not contact.get("external_id"):
        return None
    return f"{contact.get('crm') or 'default'}:{contact['external_id']}"[:300]


def schedule_delivery(session: Session, message: WebhookMessage | Published, *, attempt: int,
                      run_at: datetime | None = None) -> None:
    """Queue a deliver job expecting `attempt` earlier attempts in this round (a stale job then does nothing).
    It carries its endpoint: the worker delivers to each endpoint on a lane of its own."""
    payload = {"message_id": message.id, "attempt": attempt, "endpoint": message.endpoint_id}
    enqueue(session, DELIVER_JOB, payload, run_at=run_at, max_attempts=len(get_settings().webhook_retry_schedule) + 1,
            lane=endpoint_lane(payload))


def endpoint_lane(payload: dict[str, Any]) -> str:
    """Deliveries to one endpoint share a lane: a slow CRM holds up only its own messages."""
    return f"webhook-endpoint:{payload.get('endpoint', 'unknown')}"


def send_test_event(session: Session, endpoint_id: int, event_type: str | None = None, *,
                    external_id: str | None = None, crm: str | None = None) -> WebhookMessage:
    """Queue a sample event for one endpoint, whether or not it subscribes to that type, or is enabled;
    about a real contact (`external_id`, `crm`) to check a CRM connection end to end."""
    endpoint = get_endpoint(session, endpoint_id)
    event = sample_event(event_type or endpoint.event_types[0])
    event["timestamp"] = iso(utcnow())
    if external_id:
        event["data"]["contact"] = {"external_id": external_id, "crm": crm or event["data"]["contact"]["crm"]}
    message = WebhookMessage(msg_id=new_message_id(), endpoint_id=endpoint.id, event_type=event["type"],
                             test=True, payload=event)
    session.add(message)
    session.flush()
    schedule_delivery(session, message, attempt=0)
    return message


def replay(session: Session, message: WebhookMessage) -> None:
    """Send a dead or delivered message again in a new round of attempts, with the same webhook-id."""
    if message.status == MessageStatus.held:
        raise Conflict(f"delivery {message.msg_id} is held: it is sent once the endpoint's credentials are "
                       "replaced", code="delivery_held")
    if message.status not in (MessageStatus.dead, MessageStatus.delivered):
        raise Conflict(f"delivery {message.msg_id} is {message.status}: it is being sent already",
                       code="delivery_in_progress")
    endpoint = session.get(WebhookEndpoint, message.endpoint_id)
    if not endpoint.enabled and not message.test:
        raise Conflict(f"webhook endpoint {endpoint.id} is disabled ({endpoint.disabled_reason}); enable it first",
                       code="webhook_disabled")
    message.status, message.attempts, message.next_attempt_at = MessageStatus.pending, 0, utcnow()
    message.last_error = None
    session.add(message)
    session.flush()
    schedule_delivery(session, message, attempt=0)


def publish_invitation_created(session: Session, invitation: Invitation) -> list[Published]:
    """invitation.created, with the survey link (once per invitation, however often its job runs); never for a
    test invitation, which is no customer's."""
    if invitation.is_test:
        return []
    return publish(session, "invitation.created", lambda: payloads.invitation_created_data(session, invitation),
                   dedupe_key=f"invitation.created:{invitation.id}")


def publish_response_completed(session: Session, response: Response) -> list[Published]:
    """response.completed for a stored response (once, however often its job runs); never for a test response."""
    if response.is_test:
        return []
    return publish(session, "response.completed", lambda: payloads.response_completed_data(session, response),
                   dedupe_key=f"response.completed:{response.id}")


def publish_analysis_events(session: Session, response: Response) -> list[Published]:
    """response.analyzed, then contact.experience_updated, for a response whose analysis was just stored.

    Call it in the analysis job's session, after setting the analysis, for every response (one without
    text too: the CRM still gets the new summary). A job that runs twice publishes once per analyser
    version; a new analyser version publishes again. A test response publishes nothing."""
    if response.is_test:
        return []
    version = f"{response.id}:{response.analyser_version or ''}"
    analyzed = publish(session, "response.analyzed", lambda: payloads.response_analyzed_data(session, response),
                       dedupe_key=f"response.analyzed:{version}")
    updated = publish(session, "contact.experience_updated",
                      lambda: payloads.experience_updated_data(session, session.get(Contact, response.contact_id)),
                      dedupe_key=f"contact.experience_updated:{version}")
    return analyzed + updated


def publish_contact_opted_out(session: Session, contact: Contact, source: str) -> list[Published]:
    """contact.opted_out: the customer asked voc for no more surveys (an unsubscribe link), so the CRM's
    record can say so too. Called once, where the opt-out is stored."""
    data = {"contact": payloads.contact_ref(contact), "opted_out": {"at": iso(utcnow()), "source": source}}
    return publish(session, "contact.opted_out", data)
