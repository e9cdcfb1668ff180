"""Housekeeping: old finished jobs and delivered webhook messages go; what may still matter stays."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlmodel import Session

import voc.webhooks.tasks  # noqa: F401 - registers its housekeeper
from voc.db import utcnow
from voc.jobs.models import Job
from voc.jobs.queue import run_housekeeping
from voc.webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookMessage


def test_old_finished_jobs_are_deleted_dead_and_recent_ones_kept(engine):
    now = utcnow()
    with Session(engine) as session:
        session.add_all([
            Job(kind="old.done", status="done", finished_at=now - timedelta(days=8)),
            Job(kind="recent.done", status="done", finished_at=now - timedelta(days=1)),
            Job(kind="old.dead", status="dead", finished_at=now - timedelta(days=60), last_error="boom"),
            Job(kind="queued", status="queued", run_at=now - timedelta(days=30)),
        ])
        session.commit()
    assert run_housekeeping(engine)["jobs"] == 1
    with Session(engine) as session:
        assert sorted(session.scalars(select(Job.kind))) == ["old.dead", "queued", "recent.done"]


def test_delivered_messages_past_retention_go_with_their_attempts(engine):
    now = utcnow()
    with Session(engine) as session:
        endpoint = WebhookEndpoint(url="https://crm.example/hook", secret="sealed")
        session.add(endpoint)
        session.flush()

        def message(msg_id, status, age_days):
            row = WebhookMessage(msg_id=msg_id, endpoint_id=endpoint.id, event_type="response.completed",
                                 status=status, created_at=now - timedelta(days=age_days),
                                 delivered_at=now - timedelta(days=age_days) if status == "delivered" else None)
            session.add(row)
            session.flush()
            session.add(WebhookAttempt(message_id=row.id, status_code=200 if status == "delivered" else 500))

        message("msg_old_delivered", "delivered", 100)
        message("msg_new_delivered", "delivered", 10)
        message("msg_old_dead", "dead", 100)
        session.commit()
    assert run_housekeeping(engine)["webhook_messages"] == 1
    with Session(engine) as session:
        assert sorted(session.scalars(select(WebhookMessage.msg_id))) == ["msg_new_delivered", "msg_old_dead"]
        assert session.scalar(select(func.count()).select_from(WebhookAttempt)) == 2


def test_pruning_works_through_more_rows_than_one_batch(engine, monkeypatch):
    monkeypatch.setattr("voc.jobs.queue.PRUNE_BATCH", 3)
    old = utcnow() - timedelta(days=30)
    with Session(engine) as session:
        session.add_all([Job(kind=f"j{n}", status="done", finished_at=old) for n in range(7)])
        session.commit()
    assert run_housekeeping(engine)["jobs"] == 7
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0
