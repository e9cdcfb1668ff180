"""Jobs of the e-mail channel: `email.invitation` sends an invitation once it is usable, `email.reminder`
sends its one reminder if it is still unanswered.

Each send is claimed first (emailed_at / reminded_at set by a conditional update in a short transaction of
its own), then the SMTP conversation runs with no transaction open (on SQLite a transaction holds the
write lock, and a server may take seconds). A failed send gives its claim back before the job is retried
or given up, so a message goes out at most once even when a job runs twice; a worker dying in the middle
of the conversation is the one case where a message (or the reminder that follows it) may be lost rather
than sent twice."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from voc.config import get_settings
from voc.db import session_scope, utcnow
from voc.email.compose import MailInput, Undeliverable, compose_message
from voc.email.transport import SendFailed, SmtpConfigError, parse_smtp_url, send_message
from voc.jobs.queue import GiveUp, enqueue, job_handler
from voc.surveys.events import invitation_url
from voc.surveys.models import Contact, Event, Invitation, Survey, SurveyStatus, SurveyVersion, Touchpoint

log = logging.getLogger(__name__)

INVITATION_JOB = "email.invitation"
REMINDER_JOB = "email.reminder"
# Exponential backoff capped at an hour (voc.jobs.queue): 16 attempts span about four hours of outage.
MAX_ATTEMPTS = 16


class TemporarySendFailure(Exception):
    """The server was down or answered 4xx: the job queue tries again later, with backoff."""


def schedule_invitation_email(session: Session, invitation: Invitation) -> None:
    """Have the invitation e-mailed now (called when an e-mail-channel invitation becomes usable)."""
    enqueue(session, INVITATION_JOB, {"invitation_id": invitation.id}, max_attempts=MAX_ATTEMPTS)


@job_handler(INVITATION_JOB)
def email_invitation(session: Session, payload: dict[str, Any]) -> None:
    """Send the invitation e-mail, once; its reminder's job commits with this job's end."""
    sent = _send(session.get_bind(), payload["invitation_id"], reminder=False)
    if sent is not None and sent.reminder_at is not None:
        enqueue(session, REMINDER_JOB, {"invitation_id": payload["invitation_id"],
                                        "emailed_at": sent.claimed_at.isoformat()},
                run_at=sent.reminder_at, max_attempts=MAX_ATTEMPTS)


@job_handler(REMINDER_JOB)
def email_reminder(session: Session, payload: dict[str, Any]) -> None:
    """Send the one reminder, unless the invitation was answered, expired or its contact opted out."""
    _send(session.get_bind(), payload["invitation_id"], reminder=True, emailed_at=payload.get("emailed_at"))


@dataclass
class _Claimed:
    message: EmailMessage
    email: str
    claimed_at: datetime
    reminder_at: datetime | None = None  # when the invitation's reminder is due, if it gets one


def _send(engine: Engine, invitation_id: int, *, reminder: bool, emailed_at: str | None = None) -> _Claimed | None:
    """Claim, compose and send one e-mail; returns what was sent, or None when there was nothing to send."""
    settings = get_settings()
    kind = "reminder" if reminder else "invitation"
    try:
        if not settings.smtp_url:
            raise SmtpConfigError("VOC_SMTP_URL is not set")
        target = parse_smtp_url(settings.smtp_url)
    except SmtpConfigError as exc:
        log.warning("e-mail %s for invitation %s not sent: %s", kind, invitation_id, exc)
        raise GiveUp(f"not sent: {exc}") from None
    claimed = _claim(engine, invitation_id, reminder=reminder, emailed_at=emailed_at)
    if claimed is None:
        return None
    try:
        send_message(target, claimed.message, claimed.email, settings.smtp_timeout_seconds)
    except SendFailed as exc:
        _release(engine, invitation_id, reminder=reminder, claimed_at=claimed.claimed_at)
        if exc.permanent:  # the job runner logs a retried failure, not one given up
            log.warning("e-mail %s for invitation %s refused, not retried: %s", kind, invitation_id, exc)
            raise GiveUp(f"not sent: {exc}") from None
        raise TemporarySendFailure(str(exc)) from None
    log.info("e-mail %s for invitation %s sent via %s", kind, invitation_id, target.describe())
    return claimed


def _claim(engine: Engine, invitation_id: int, *, reminder: bool, emailed_at: str | None) -> _Claimed | None:
    """Check the invitation may still be e-mailed, compose the message and mark it sent, in one short
    transaction; None (and nothing written) when there is nothing to send."""
    kind = "reminder" if reminder else "invitation"
    now = utcnow()
    with session_scope(engine) as session:
        invitation = session.get(Invitation, invitation_id)
        reason = _not_sendable(session, invitation, now, reminder=reminder, emailed_at=emailed_at)
        if reason:
            log.info("e-mail %s for invitation %s not sent: %s", kind, invitation_id, reason)
            return None
        contact = session.get(Contact, invitation.contact_id)
        version = session.get(SurveyVersion, invitation.survey_version_id)
        event = session.get(Event, invitation.event_id) if invitation.event_id else None
        mail = MailInput(
            invitation_id=invitation.id, token_nonce=invitation.token_nonce, survey_url=invitation_url(invitation),
            contact_id=contact.id, email=contact.email or "", contact_attributes=dict(contact.attributes or {}),
            event_attributes=dict(event.attributes or {}) if event else {}, title=version.title,
            questions=list(version.questions), language=version.language,
            translations=dict(version.translations or {}), test=invitation.is_test)
        try:
            message = compose_message(mail, reminder=reminder)
        except Undeliverable as exc:
            log.warning("e-mail %s for invitation %s not sent: %s", kind, invitation_id, exc)
            raise GiveUp(f"not sent: {exc}") from None
        column = Invitation.reminded_at if reminder else Invitation.emailed_at
        # The conditional update is the lock: of two runs of this job, one changes the row, one sees 0 rows.
        won = session.execute(update(Invitation).where(Invitation.id == invitation_id, column.is_(None))
                              .values({column: now}).execution_options(synchronize_session=False)).rowcount
        if not won:
            return None
        no_reminder = reminder or invitation.is_test  # a test invitation is e-mailed once, never reminded
        return _Claimed(message, mail.email, now, None if no_reminder else reminder_due(session, invitation, now))


def _not_sendable(session: Session, invitation: Invitation | None, now: datetime, *, reminder: bool,
                  emailed_at: str | None) -> str | None:
    if invitation is None:
        return "the invitation is gone"
    if invitation.channel != "email":
        return f"its channel is {invitation.channel!r}"
    if invitation.completed_at is not None:
        return "already answered"
    if invitation.expires_at <= now:
        return "expired"
    if invitation.invited_at > now:
        return "not usable yet"
    if reminder:
        if invitation.reminded_at is not None:
            return "reminder already sent"
        # A reminder follows the one e-mail that went out; should emailed_at have changed since, it is stale.
        if invitation.emailed_at is None or emailed_at != invitation.emailed_at.isoformat():
            return "the invitation e-mail it follows was not sent"
    elif invitation.emailed_at is not None:
        return "already e-mailed"
    contact = session.get(Contact, invitation.contact_id)
    if contact.opted_out:
        return "the contact opted out"
    if not contact.email:
        return "the contact has no e-mail address"
    survey = session.get(Survey, invitation.survey_id)
    if survey.status != SurveyStatus.active:
        return f"the survey is {survey.status}"
    return None


def reminder_days(session: Session, invitation: Invitation) -> float | None:
    """Days after the e-mail when the reminder is due, from the survey's e-mail trigger (None: no reminder).

    Survey triggers are stored without null fields, so a trigger without the key asked for no reminder."""
    survey = session.get(Survey, invitation.survey_id)
    touchpoint = session.get(Touchpoint, invitation.touchpoint_id) if invitation.touchpoint_id else None
    for trigger in survey.triggers or []:
        if trigger.get("channel") == "email" and (touchpoint is None or trigger.get("touchpoint") == touchpoint.key):
            return trigger.get("reminder_after_days")
    return None


def reminder_due(session: Session, invitation: Invitation, sent_at: datetime) -> datetime | None:
    """When the reminder of an invitation e-mailed at `sent_at` is due; None when it gets none."""
    days = reminder_days(session, invitation)
    if days is None:
        return None
    due = sent_at + timedelta(days=days)
    return due if due < invitation.expires_at else None  # not for a link that no longer works


def _release(engine: Engine, invitation_id: int, *, reminder: bool, claimed_at: datetime) -> None:
    """Give a failed send's claim back, so the retry (or an operator) can send it."""
    column = Invitation.reminded_at if reminder else Invitation.emailed_at
    with session_scope(engine) as session:
        session.execute(update(Invitation).where(Invitation.id == invitation_id, column == claimed_at)
                        .values({column: None}).execution_options(synchronize_session=False))
