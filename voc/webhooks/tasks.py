"""The `webhook.deliver` job: one attempt per job; a failure queues the next attempt as a new job."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

import voc.crm.tasks  # noqa: F401 - registers the CRM jobs (property setup) with the worker
from voc.config import get_settings
from voc.jobs.queue import housekeeper, prune, staged_handler
from voc.webhooks.delivery import load_deliveries, record, send
from voc.webhooks.models import MessageStatus, WebhookMessage
from voc.webhooks.outbox import DELIVER_JOB, endpoint_lane

# One attempt per job. The worker reads the messages of the deliver jobs it claimed in one transaction, sends
# each on its endpoint's lane, and records the results of those sent meanwhile in one transaction (voc.jobs.queue
# Stages). A failed attempt is not raised to the job runner, which would roll back the attempt log with it: the
# attempt, the message's state and the next attempt's job are written together with the job's end.
deliver_webhook = staged_handler(DELIVER_JOB, lane=endpoint_lane, load=load_deliveries, act=send, write=record)


@housekeeper("webhook_messages")
def prune_delivered_messages(session: Session, now: datetime) -> int:
    """Delivered messages (with their attempts) older than VOC_WEBHOOK_RETENTION_DAYS.

    Dead and pending messages stay, so they can still be replayed."""
    before = now - timedelta(days=get_settings().webhook_retention_days)
    messages = WebhookMessage.__table__
    return prune(session, messages,
                 (messages.c.status == MessageStatus.delivered) & (messages.c.delivered_at < before))
