"""Unsubscribe links: signed with the server's key and bound to one contact, so they cannot be guessed
or turned to another contact; following one (with a POST) opts the contact out of every survey."""

from __future__ import annotations

import hmac

from sqlalchemy import update
from sqlmodel import Session

from voc.config import get_settings
from voc.db import utcnow
from voc.errors import NotFound
from voc.surveys.models import Contact
from voc.surveys.tokens import keyed_digest


def _signature(contact_id: int, secret_key: str) -> str:
    return keyed_digest("voc-unsubscribe:contact", str(contact_id), secret_key)


def unsubscribe_token(contact_id: int) -> str:
    """The token in a contact's unsubscribe link: the contact id and its HMAC."""
    return f"{contact_id}.{_signature(contact_id, get_settings().secret_key)}"


def unsubscribe_url(contact_id: int) -> str:
    """The contact's unsubscribe link (also the RFC 8058 one-click POST target)."""
    return f"{get_settings().base_url.rstrip('/')}/unsubscribe/{unsubscribe_token(contact_id)}"


def contact_of_token(session: Session, token: str) -> Contact:
    """The contact a genuine token names; 404 for anything voc did not sign."""
    ident, _, signature = token.partition(".")
    if not ident.isdigit() or len(ident) > 18 or not hmac.compare_digest(
            signature.encode(), _signature(int(ident), get_settings().secret_key).encode()):
        raise NotFound("This unsubscribe link is not valid.", code="unsubscribe_link_invalid")
    contact = session.get(Contact, int(ident))
    if contact is None:
        raise NotFound("This unsubscribe link is not valid.", code="unsubscribe_link_invalid")
    return contact


def opt_out(session: Session, contact: Contact) -> bool:
    """Mark the contact opted out (later events are suppressed, reminders stop); False if already so."""
    changed = session.execute(
        update(Contact).where(Contact.id == contact.id, Contact.opted_out.is_(False))
        .values(opted_out=True, updated_at=utcnow()).execution_options(synchronize_session=False)
    ).rowcount
    return bool(changed)
