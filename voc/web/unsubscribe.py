"""Unsubscribe pages: GET asks (mail scanners fetch links, so a GET changes nothing), POST opts out.
The POST also serves RFC 8058 one-click unsubscribing straight from the mail client."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from voc.api.deps import SessionDep
from voc.email.texts import TEXTS, text_language
from voc.email.unsubscribe import contact_of_token, opt_out
from voc.errors import VocError
from voc.surveys.models import Contact
from voc.web.templating import render
from voc.webhooks.outbox import publish_contact_opted_out

router = APIRouter(include_in_schema=False)
PAGE = "email/unsubscribe.html"


def _page(request: Request, state: str, contact: Contact | None, status_code: int = 200,
          **context: object) -> HTMLResponse:
    attributes = contact.attributes if contact else {}
    wanted = attributes.get("language") or attributes.get("locale")
    lang = text_language(wanted if isinstance(wanted, str) else None)
    page = render(request, PAGE, {"t": TEXTS[lang], "lang": lang, "state": state, **context}, status_code=status_code)
    page.headers["cache-control"] = "no-store"
    return page


def _contact_or_refusal(session: Session, token: str, request: Request) -> Contact | HTMLResponse:
    """The contact a genuine unsubscribe link names, or the page saying the link is not valid."""
    try:
        return contact_of_token(session, token)
    except VocError as exc:
        return _page(request, "invalid", None, exc.status_code)


@router.get("/unsubscribe/{token}", name="unsubscribe_page")
def unsubscribe_page(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    """Ask the customer to confirm, with one button."""
    contact = _contact_or_refusal(session, token, request)
    if isinstance(contact, HTMLResponse):
        return contact
    if contact.opted_out:
        return _page(request, "done", contact)
    return _page(request, "confirm", contact, action=request.url_for("unsubscribe", token=token).path)


@router.post("/unsubscribe/{token}", name="unsubscribe")
def unsubscribe(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    """Opt the contact out of every survey (the page's button, or a mail client's one-click POST)."""
    contact = _contact_or_refusal(session, token, request)
    if isinstance(contact, HTMLResponse):
        return contact
    if opt_out(session, contact):
        publish_contact_opted_out(session, contact, source="email_unsubscribe")
    return _page(request, "done", contact)
