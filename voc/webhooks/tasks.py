"""The `webhook.deliver` job: one attempt per job; a failure queues the next attempt as a new job."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

import voc.crm.tasks  # noqa: F401 - registers the CRM jobs (property setup) with the worker
from voc.config import get_settings
from voc.jobs.queue import housekeeper, job_handler, prune
from voc.webhooks.delivery import attempt, load_delivery, settle
from voc.webhooks.models import MessageStatus, WebhookMessage
from voc.webhooks.outbox import DELIVER_JOB, endpoint_lane


@job_handler(DELIVER_JOB, lane=endpoint_lane)
def deliver_webhook(session: Session, payload: dict[str, Any]) -> None:
    """Send one message once and record what happened.

    A failed attempt is not raised to the job runner: the runner would roll back this transaction
    and the attempt log with it. Instead the attempt, the message state and the next attempt's job
    are written here and commit together with this job's end."""
    delivery = load_delivery(session.get_bind(), payload["message_id"], payload.get("attempt", 0))
    if delivery is None:
        return  # delivered, dead, replayed since, or its endpoint deleted
    sendable = delivery.problem is None and delivery.disabled is None and delivery.held is None
    settle(session, delivery, attempt(delivery) if sendable else None)


@housekeeper("webhook_messages")
def prune_delivered_messages(session: Session, now: datetime) -> int:
    """Delivered messages (with their attempts) older than VOC_WEBHOOK_RETENTION_DAYS.

    Dead and pending messages stay, so they can still be replayed."""
    before = now - timedelta(days=get_settings().webhook_retention_days)
    messages = WebhookMessage.__table__
    return prune(session, messages,
                 (messages.c.status == MessageStatus.delivered) & (messages.c.delivered_at < before))
