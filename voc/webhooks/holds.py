"""Credentials a CRM refused: the endpoint says so, and its deliveries wait (status "held") — none sent
with credentials known to fail, none lost, none dead — until new credentials release them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlmodel import Session

from voc.db import utcnow
from voc.webhooks.models import MessageStatus, WebhookEndpoint, WebhookMessage


def mark_credentials_rejected(session: Session, endpoint_id: int, reason: str,
                              credentials_as_of: datetime | None) -> bool:
    """Flag the endpoint, unless its credentials changed since the request was made (then the refusal
    was of the old ones). Returns whether it is flagged now."""
    query = (update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id,
                                          WebhookEndpoint.credentials_rejected_at.is_(None))
             .values(credentials_rejected_at=utcnow(), credentials_rejected_reason=reason[:1000])
             .execution_options(synchronize_session=False))
    if credentials_as_of is not None:
        query = query.where(WebhookEndpoint.updated_at == credentials_as_of)
    changed = session.execute(query).rowcount
    if changed:
        return True
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    return endpoint is not None and endpoint.credentials_rejected_at is not None


def release_held(session: Session, endpoint: WebhookEndpoint) -> int:
    """Clear the endpoint's refusal and queue every held delivery again (a new round, oldest first)."""
    from voc.webhooks.outbox import schedule_delivery  # outbox imports endpoints, which imports this module

    endpoint.credentials_rejected_at, endpoint.credentials_rejected_reason = None, None
    session.add(endpoint)
    held = list(session.scalars(select(WebhookMessage)
                                .where(WebhookMessage.endpoint_id == endpoint.id,
                                       WebhookMessage.status == MessageStatus.held)
                                .order_by(WebhookMessage.id)))
    now = utcnow()
    for message in held:
        message.status, message.attempts, message.next_attempt_at = MessageStatus.pending, 0, now
        message.last_error = None
        session.add(message)
    session.flush()
    for message in held:
        schedule_delivery(session, message, attempt=0)
    return len(held)


def release_connection_endpoints(session: Session, connection_id: int) -> int:
    """New credentials for a Salesforce connection: release every endpoint that uses it."""
    endpoints = list(session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.connection_id == connection_id)))
    released = 0
    for endpoint in endpoints:
        endpoint.updated_at = utcnow()  # a refusal of the old credentials, still in flight, no longer counts
        released += release_held(session, endpoint)
    return released


def held_counts(session: Session) -> dict[int, int]:
    """Held deliveries per endpoint (the settings page)."""
    rows = session.execute(select(WebhookMessage.endpoint_id, func.count(WebhookMessage.id))
                           .where(WebhookMessage.status == MessageStatus.held)
                           .group_by(WebhookMessage.endpoint_id))
    return {endpoint_id: count for endpoint_id, count in rows}
