"""Small helpers shared by the webhook tests: publish, run jobs until the queue is quiet, read rows."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from voc.jobs.models import Job, JobStatus
from voc.jobs.worker import Worker
from voc.webhooks import outbox
from voc.webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookMessage
from voc.webhooks.samples import sample_event


def publish(engine: Engine, event_type: str = "response.completed", data: dict[str, Any] | None = None,
            **kwargs: Any) -> list[str]:
    """Publish an event (sample data by default) and commit; returns the new msg_ids."""
    with Session(engine, expire_on_commit=False) as session:
        messages = outbox.publish(session, event_type, data or sample_event(event_type)["data"], **kwargs)
        session.commit()
        return [m.msg_id for m in messages]


def drain(engine: Engine, timeout: float = 10.0) -> None:
    """Run jobs, waiting for delayed retries, until none is queued or running."""
    worker = Worker(engine)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not worker.run_once():
            with Session(engine, expire_on_commit=False) as session:
                waiting = session.scalar(select(Job.id).where(Job.status.in_([JobStatus.queued, JobStatus.running])))
            if waiting is None:
                return
            time.sleep(0.02)
    raise AssertionError("jobs still waiting after the timeout")


def message(engine: Engine, msg_id: str) -> WebhookMessage:
    with Session(engine, expire_on_commit=False) as session:
        return session.scalars(select(WebhookMessage).where(WebhookMessage.msg_id == msg_id)).one()


def attempts(engine: Engine, msg_id: str) -> list[WebhookAttempt]:
    with Session(engine, expire_on_commit=False) as session:
        return list(session.scalars(select(WebhookAttempt).join(WebhookMessage)
                                    .where(WebhookMessage.msg_id == msg_id).order_by(WebhookAttempt.id)))


def endpoint(engine: Engine, endpoint_id: int) -> WebhookEndpoint:
    with Session(engine, expire_on_commit=False) as session:
        return session.get(WebhookEndpoint, endpoint_id)


def update_endpoint(engine: Engine, endpoint_id: int, **values: Any) -> None:
    with Session(engine, expire_on_commit=False) as session:
        row = session.get(WebhookEndpoint, endpoint_id)
        for name, value in values.items():
            setattr(row, name, value)
        session.add(row)
        session.commit()


def answer_with(*statuses: int | tuple[int, dict[str, str]]):
    """A receiver responder answering each request with the next status (the last one repeats)."""
    def respond(seen, _headers):
        status = statuses[min(len(seen), len(statuses) - 1)]
        status, extra = status if isinstance(status, tuple) else (status, {})
        return status, extra, f'{{"status":{status}}}'.encode()

    return respond
