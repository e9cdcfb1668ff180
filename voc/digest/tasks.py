"""Sending the weekly digest: the worker's planner queues one `digest.weekly` job per recipient and week, and
the job sends it; `send_digest_now` sends one at once (`voc digest send`).

Once per user and week, however many workers run: the planner writes a digest_send row per (user, ISO week)
with the job that sends it, in one transaction, and the row's unique key lets only the first planner of that
week through. The job then claims the row (sent_at set by a conditional update in a short transaction of its
own) before the SMTP conversation, which runs with no transaction open, and gives the claim back when the
server refuses the message, before the retry. As with invitations, a worker dying in the middle of the
conversation may lose that week's digest, never send it twice."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from voc.auth.models import User
from voc.config import get_settings
from voc.db import InsertOnce, reading, session_scope, utcnow
from voc.digest.compose import Undeliverable, compose_digest
from voc.digest.content import Digest, DigestWeek, build_digest, last_whole_week
from voc.digest.models import DigestSend
from voc.digest.recipients import digest_recipients
from voc.email.transport import SendFailed, SmtpConfigError, SmtpTarget, parse_smtp_url, send_message
from voc.jobs.queue import GiveUp, enqueue, job_handler, planner

log = logging.getLogger(__name__)

DIGEST_JOB = "digest.weekly"
MAX_ATTEMPTS = 16  # as invitations: exponential backoff capped at an hour, about four hours of outage


class TemporarySendFailure(Exception):
    """The server was down or answered 4xx: the job queue tries again later, with backoff."""


_D = DigestSend.__table__
# A (user, week) row unless there is one; returns its id only when this insert made it.
_PLAN = InsertOnce(_D, [_D.c.user_id, _D.c.week], _D.c.id)


@planner("weekly_digest")
def plan_weekly_digests(session: Session, now: datetime) -> int:
    """Queue last week's digest for every recipient who has not had it planned yet; returns how many."""
    week = last_whole_week(now)
    connection = session.connection()
    queued = 0
    for user_id in digest_recipients(session):
        made = _PLAN.first(connection, {"user_id": user_id, "week": week.key, "created_at": now})
        if made is not None:
            enqueue(session, DIGEST_JOB, {"digest_send_id": made[0]}, max_attempts=MAX_ATTEMPTS)
            queued += 1
    return queued


def smtp_target() -> SmtpTarget:
    """Where to send (VOC_SMTP_URL), or SmtpConfigError."""
    url = get_settings().smtp_url
    if not url:
        raise SmtpConfigError("VOC_SMTP_URL is not set")
    return parse_smtp_url(url)


@job_handler(DIGEST_JOB)
def send_weekly_digest(session: Session, payload: dict[str, Any]) -> None:
    """Send one user's digest of one week, once (the job's own session stays unused: no transaction during SMTP)."""
    send_id = int(payload["digest_send_id"])
    try:
        target = smtp_target()
    except SmtpConfigError as exc:
        log.warning("weekly digest %s not sent: %s", send_id, exc)
        raise GiveUp(f"not sent: {exc}") from None
    engine = session.get_bind()
    prepared = _prepare(engine, send_id)
    if prepared is None:
        return
    email, digest = prepared
    try:
        message = compose_digest(digest, email)
    except Undeliverable as exc:
        raise GiveUp(f"not sent: {exc}") from None
    claimed_at = _claim(engine, send_id)
    if claimed_at is None:
        log.info("weekly digest %s not sent: already sent", send_id)
        return
    try:
        send_message(target, message, email, get_settings().smtp_timeout_seconds)
    except SendFailed as exc:
        _release(engine, send_id, claimed_at)
        if exc.permanent:
            log.warning("weekly digest %s refused, not retried: %s", send_id, exc)
            raise GiveUp(f"not sent: {exc}") from None
        raise TemporarySendFailure(str(exc)) from None
    log.info("weekly digest %s (%s) sent via %s", send_id, digest.week.key, target.describe())


def _prepare(engine: Engine, send_id: int) -> tuple[str, Digest] | None:
    """The recipient's address and their digest, read in a short reading transaction; None: nothing to send."""
    with session_scope(reading(engine)) as session:
        row = session.get(DigestSend, send_id)
        user = session.get(User, row.user_id) if row is not None else None
        if row is None or user is None:
            log.info("weekly digest %s not sent: its user is gone", send_id)
            return None
        if row.sent_at is not None:
            log.info("weekly digest %s not sent: already sent", send_id)
            return None
        if not user.weekly_digest or user.disabled_at is not None:
            log.info("weekly digest %s not sent: user %s no longer receives it", send_id, user.id)
            return None
        week = last_whole_week()
        if row.week != week.key:  # a week old: the next one is due, or planned already
            log.info("weekly digest %s not sent: it covers %s, not last week", send_id, row.week)
            return None
        return user.email, build_digest(session, week, user)


def _claim(engine: Engine, send_id: int) -> datetime | None:
    """Mark the digest sent before it goes out; of two runs of the job, one changes the row, one sees 0 rows."""
    now = utcnow()
    with session_scope(engine) as session:
        won = session.execute(update(DigestSend).where(DigestSend.id == send_id, DigestSend.sent_at.is_(None))
                              .values(sent_at=now).execution_options(synchronize_session=False)).rowcount
    return now if won else None


def _release(engine: Engine, send_id: int, claimed_at: datetime) -> None:
    """Give a failed send's claim back, so the retry can send it."""
    with session_scope(engine) as session:
        session.execute(update(DigestSend).where(DigestSend.id == send_id, DigestSend.sent_at == claimed_at)
                        .values(sent_at=None).execution_options(synchronize_session=False))


def send_digest_now(engine: Engine, email: str, week: DigestWeek | None = None) -> Digest:
    """Compose and send the digest of `week` (default: last week) to `email` at once, whether or not it is a
    user's who chose it, and record nothing: the planned digest still goes out (`voc digest send`).

    Raises SmtpConfigError, Undeliverable or SendFailed when it cannot be sent."""
    target = smtp_target()
    week = week or last_whole_week()
    with session_scope(reading(engine)) as session:
        user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
        digest = build_digest(session, week, user)
    send_message(target, compose_digest(digest, email.strip()), email.strip(), get_settings().smtp_timeout_seconds)
    return digest
