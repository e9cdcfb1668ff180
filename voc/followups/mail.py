"""The e-mail telling a user that cases were assigned to them, sent by the worker (`email.followup_assigned`).

The job is enqueued in the assignment's transaction and carries ids only. It reads the cases in a short
transaction of its own and talks to the SMTP server with none open, so a slow server holds up nothing.
It mails only the cases still assigned to that user and unresolved when it runs (a case handed on or
closed meanwhile is left out; with none left, nothing is sent). Sending is at least once: should the worker
die between the server's "accepted" and the job's end, the message goes out again on the retry."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from voc.auth.models import Role, User
from voc.config import get_settings
from voc.db import reading, session_scope, utcnow
from voc.email.transport import SendFailed, SmtpConfigError, parse_smtp_url, send_message
from voc.followups.models import Followup, FollowupStatus
from voc.followups.rules import REASON_LABELS
from voc.jobs.queue import GiveUp, enqueue, job_handler
from voc.surveys.models import Contact

log = logging.getLogger(__name__)

ASSIGNED_JOB = "email.followup_assigned"
MAX_ATTEMPTS = 16  # as invitations: exponential backoff capped at an hour, about four hours of outage
MAX_LISTED = 50  # cases named in one message; the rest are counted


class TemporarySendFailure(Exception):
    """The server was down or answered 4xx: the job queue tries again later, with backoff."""


@dataclass(frozen=True)
class AssignedCase:
    """One case as the message lists it (plain values read in the job's short transaction)."""

    id: int
    contact: str
    reason: str
    due_at: datetime


def schedule_assignment_email(session: Session, assignee_id: int, followup_ids: list[int], assigned_by: str) -> int:
    """Have the assignee told of these cases, once this transaction commits; returns the job's id."""
    return enqueue(session, ASSIGNED_JOB, {"assignee_id": assignee_id, "followup_ids": sorted(followup_ids),
                                           "assigned_by": assigned_by}, max_attempts=MAX_ATTEMPTS)


@job_handler(ASSIGNED_JOB)
def email_assignee(session: Session, payload: dict[str, Any]) -> None:
    """Send the assignment e-mail (the job's own session stays unused: no transaction during SMTP)."""
    settings = get_settings()
    try:
        if not settings.smtp_url:
            raise SmtpConfigError("VOC_SMTP_URL is not set")
        target = parse_smtp_url(settings.smtp_url)
    except SmtpConfigError as exc:
        log.warning("assignment e-mail to user %s not sent: %s", payload.get("assignee_id"), exc)
        raise GiveUp(f"not sent: {exc}") from None
    found = _read(session.get_bind(), payload)
    if found is None:
        return
    email, cases = found
    message = compose_assignment(email, cases, str(payload.get("assigned_by") or "someone"))
    try:
        send_message(target, message, email, settings.smtp_timeout_seconds)
    except SendFailed as exc:
        if exc.permanent:
            log.warning("assignment e-mail to user %s refused, not retried: %s", payload["assignee_id"], exc)
            raise GiveUp(f"not sent: {exc}") from None
        raise TemporarySendFailure(str(exc)) from None
    log.info("assignment e-mail for %s case(s) sent to user %s", len(cases), payload["assignee_id"])


def _read(engine: Any, payload: dict[str, Any]) -> tuple[str, list[AssignedCase]] | None:
    """The assignee's address and the cases still theirs and unresolved; None when there is nothing to send."""
    with session_scope(reading(engine)) as session:
        user = session.get(User, int(payload["assignee_id"]))
        if user is None or user.disabled_at is not None or user.role == Role.viewer:
            log.info("assignment e-mail not sent: user %s is gone, disabled or a viewer", payload["assignee_id"])
            return None
        rows = session.execute(
            select(Followup.id, Contact.external_id, Followup.reason, Followup.due_at)
            .join(Contact, Contact.id == Followup.contact_id)
            .where(Followup.id.in_([int(i) for i in payload["followup_ids"]]), Followup.assignee_id == user.id,
                   Followup.status != FollowupStatus.resolved)
            .order_by(Followup.due_at, Followup.id)).all()
        if not rows:
            log.info("assignment e-mail to user %s not sent: no case is still theirs and open", user.id)
            return None
        return user.email, [AssignedCase(*row) for row in rows]


def _one_line(text: str, limit: int = 200) -> str:
    return " ".join(text.split())[:limit]


def compose_assignment(email: str, cases: list[AssignedCase], assigned_by: str) -> EmailMessage:
    """A plain-text message listing the cases (contact, reason, due time) with a link to each."""
    settings = get_settings()
    base = settings.base_url.rstrip("/")
    what = "a follow-up case" if len(cases) == 1 else f"{len(cases)} follow-up cases"
    lines = [f"{_one_line(assigned_by, 320)} assigned {what} to you in voc.", ""]
    for case in cases[:MAX_LISTED]:
        reason = REASON_LABELS.get(case.reason, case.reason)
        lines += [f"- Case #{case.id}: {_one_line(case.contact)}, {reason}, due "
                  f"{case.due_at.strftime('%Y-%m-%d %H:%M')} UTC",
                  f"  {base}/dashboard/followups/{case.id}"]
    if len(cases) > MAX_LISTED:
        lines.append(f"… and {len(cases) - MAX_LISTED} more.")
    lines += ["", f"Your queue: {base}/dashboard/followups?assignee=me&sort=due"]
    message = EmailMessage(policy=policy.default.clone(max_line_length=998))
    message["Subject"] = (f"Follow-up case #{cases[0].id} assigned to you" if len(cases) == 1
                          else f"{len(cases)} follow-up cases assigned to you")
    message["From"] = settings.email_from
    message["To"] = Address(addr_spec=email)
    message["Date"] = format_datetime(utcnow())
    digest = hashlib.sha256(f"{email}:{[c.id for c in cases]}".encode()).hexdigest()[:24]
    domain = parseaddr(settings.email_from)[1].rpartition("@")[2] or "voc.localhost"
    message["Message-ID"] = f"<voc.followup.{digest}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to this
    message.set_content("\n".join(lines) + "\n", cte="quoted-printable")
    return message
