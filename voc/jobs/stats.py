"""What an operator reads of the queue at every scrape: due jobs by kind and how long the oldest has waited."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from voc.jobs.models import Job, JobStatus


def due_jobs_by_kind(session: Session, now: datetime) -> list[tuple[str, int, datetime]]:
    """(kind, queued jobs due by `now`, the oldest one's run_at) per kind that has any.

    One range scan of ix_job_status_run_at over the due jobs alone: its cost follows the backlog, never
    the number of responses or of finished jobs."""
    rows = session.execute(select(Job.kind, func.count(), func.min(Job.run_at))
                           .where(Job.status == JobStatus.queued.value, Job.run_at <= now)
                           .group_by(Job.kind).order_by(Job.kind))
    return [(kind, count, oldest) for kind, count, oldest in rows]
