"""Reading deliveries (messages with their attempts) and replaying the ones that died."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from voc.cursors import keyset_page, pack_id_cursor, unpack_id_cursor
from voc.errors import Conflict, Invalid, NotFound
from voc.webhooks.endpoints import get_endpoint
from voc.webhooks.models import MessageStatus, WebhookAttempt, WebhookMessage
from voc.webhooks.outbox import replay
from voc.webhooks.schemas import AttemptPublic, DeliveryPage, DeliveryPublic, ReplayResult

MAX_REPLAY = 10_000  # one request's worth; a larger backlog is replayed in several calls


def list_deliveries(session: Session, endpoint_id: int, *, status: str | None = None,
                    event_type: str | None = None, since: datetime | None = None, until: datetime | None = None,
                    cursor: str | None = None, limit: int = 50) -> DeliveryPage:
    """An endpoint's deliveries, newest first, filtered by status, event type and creation time."""
    get_endpoint(session, endpoint_id)
    if status is not None and status not in MessageStatus.__members__:
        raise Invalid(f"status must be one of {', '.join(MessageStatus)}", code="validation_error")
    query = (select(WebhookMessage).where(WebhookMessage.endpoint_id == endpoint_id)
             .order_by(WebhookMessage.id.desc()).limit(limit + 1))
    if status:
        query = query.where(WebhookMessage.status == status)
    if event_type:
        query = query.where(WebhookMessage.event_type == event_type)
    if since:
        query = query.where(WebhookMessage.created_at >= since)
    if until:
        query = query.where(WebhookMessage.created_at < until)
    if cursor:
        query = query.where(WebhookMessage.id < unpack_id_cursor(cursor, "m"))
    page, next_cursor = keyset_page(list(session.scalars(query)), limit, lambda m: pack_id_cursor("m", m.id))
    return DeliveryPage(items=deliveries_public(session, page), next_cursor=next_cursor)


def get_message(session: Session, endpoint_id: int, msg_id: str) -> WebhookMessage:
    message = session.scalar(select(WebhookMessage).where(WebhookMessage.msg_id == msg_id,
                                                          WebhookMessage.endpoint_id == endpoint_id))
    if message is None:
        get_endpoint(session, endpoint_id)  # a missing endpoint says so first
        raise NotFound(f"no delivery {msg_id} for webhook endpoint {endpoint_id}", code="delivery_not_found")
    return message


def get_delivery(session: Session, endpoint_id: int, msg_id: str) -> DeliveryPublic:
    return deliveries_public(session, [get_message(session, endpoint_id, msg_id)])[0]


def replay_delivery(session: Session, endpoint_id: int, msg_id: str) -> DeliveryPublic:
    """Send one dead (or delivered) message again, with the same webhook-id."""
    message = get_message(session, endpoint_id, msg_id)
    replay(session, message)
    return deliveries_public(session, [message])[0]


def replay_dead_since(session: Session, endpoint_id: int, since: datetime) -> ReplayResult:
    """Send again every dead message of the endpoint created at or after `since`, oldest first."""
    endpoint = get_endpoint(session, endpoint_id, for_update=True)
    if not endpoint.enabled:
        raise Conflict(f"webhook endpoint {endpoint.id} is disabled ({endpoint.disabled_reason}); enable it first",
                       code="webhook_disabled")
    dead = list(session.scalars(
        select(WebhookMessage)
        .where(WebhookMessage.endpoint_id == endpoint_id, WebhookMessage.status == MessageStatus.dead,
               WebhookMessage.created_at >= since)
        .order_by(WebhookMessage.id).limit(MAX_REPLAY)))
    for message in dead:
        replay(session, message)
    return ReplayResult(replayed=len(dead), deliveries=[message.msg_id for message in dead])


def deliveries_public(session: Session, messages: list[WebhookMessage]) -> list[DeliveryPublic]:
    """The API shape of messages, their attempts loaded in one query."""
    attempts: dict[int, list[WebhookAttempt]] = defaultdict(list)
    if messages:
        ids = [message.id for message in messages]
        for attempt in session.scalars(select(WebhookAttempt).where(WebhookAttempt.message_id.in_(ids))
                                       .order_by(WebhookAttempt.id)):
            attempts[attempt.message_id].append(attempt)
    return [
        DeliveryPublic(
            id=m.msg_id, endpoint_id=m.endpoint_id, event_type=m.event_type, status=m.status, test=m.test,
            payload=m.payload, next_attempt_at=m.next_attempt_at, last_status_code=m.last_status_code,
            last_error=m.last_error, created_at=m.created_at, delivered_at=m.delivered_at,
            attempts=[AttemptPublic.model_validate(a, from_attributes=True) for a in attempts[m.id]],
        )
        for m in messages
    ]
