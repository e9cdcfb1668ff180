"""Helpers for e-mail tests: an e-mail survey and an invitation to it in one line, and reading messages."""

from __future__ import annotations

import re
from email.message import EmailMessage
from html import unescape
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from tests import factories as f
from voc.jobs.models import Job
from voc.surveys.models import Touchpoint
from voc.surveys.schemas import EventOutcome

ADA = "ada@example.com"


def email_survey(session: Session, *, trigger: dict | None = None, **kw: Any) -> None:
    """The order_delivered touchpoint and an active survey that invites by e-mail."""
    fresh(session)
    if session.scalar(select(Touchpoint).where(Touchpoint.key == "order_delivered")) is None:
        f.touchpoint(session)
    f.survey(session, trigger={"channel": "email", **(trigger or {})}, **kw)
    session.commit()


def invite(session: Session, event_id: str = "e1", contact: str = "crm-1", email: str | None = ADA,
           attributes: dict | None = None, **kw: Any) -> EventOutcome:
    """Report a delivery for a contact with this address; committed, so the worker sees it."""
    fresh(session)  # a read transaction older than the worker's writes cannot write on SQLite
    fields: dict[str, Any] = {"attributes": attributes or {}}
    if email:
        fields["email"] = email
    outcome = f.event(session, event_id, contact=contact, contact_fields=fields, **kw)
    session.commit()
    return outcome


def parts(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and the HTML body."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None, "both parts expected"
    return text.get_content().replace("\r\n", "\n"), html.get_content().replace("\r\n", "\n")


def html_links(html: str) -> list[str]:
    """Every href in the HTML part, unescaped as a mail client would follow it."""
    return [unescape(href) for href in re.findall(r'href="([^"]+)"', html)]


def fresh(session: Session) -> Session:
    """End the test's read transaction, so it sees what the app and the worker committed since."""
    session.commit()
    session.expire_all()
    return session


def jobs(session: Session, kind: str) -> list[Job]:
    fresh(session)
    return list(session.scalars(select(Job).where(Job.kind == kind).order_by(Job.id)))
