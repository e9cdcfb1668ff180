"""What the settings pages share: their section links, the once-only notice or secret after a change, and
the page again with the reason when a change is refused.

Every change that succeeds answers 303 to a page (POST → redirect → GET), so a reload never sends it twice;
what that page should say once travels in a one-time flash (voc.web.flash), a new secret sealed in it and
never in a URL. A refused change answers its section page with the reason and what was typed (4xx)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from sqlmodel import Session

from voc import audit
from voc.auth.models import User
from voc.web.dashboard.common import page
from voc.web.flash import pop_flash, set_flash
from voc.web.templating import is_htmx

# The settings pages in the order their links show; the first is where /dashboard/settings leads.
SECTIONS = (("settings_keys", "API keys"), ("settings_webhooks", "Webhooks and CRM"), ("settings_users", "Users"),
            ("settings_sites", "Sites"))

NOTICES = {
    "key_created": "The API key was created.",
    "key_revoked": "The API key was revoked: it no longer works.",
    "webhook_created": "The endpoint was created. Send it a test event and follow it in the delivery log below.",
    "webhook_enabled": "The endpoint is enabled.",
    "webhook_disabled": "The endpoint is disabled; waiting deliveries were stopped.",
    "webhook_deleted": "The endpoint was deleted.",
    "test_queued": "A test event is queued: follow it in the delivery log below.",
    "replayed": "The delivery is queued again.",
    "credentials_replaced": "The credentials were replaced; deliveries held for the old ones are sent again.",
    "crm_setup_queued": "The HubSpot setup is queued: its result shows on the endpoint in a moment.",
    "connection_created": "The Salesforce connection was saved; its client secret is not shown again.",
    "connection_deleted": "The Salesforce connection was deleted.",
    "user_created": "The user was created.",
    "role_changed": "The role was changed; that user signs in again.",
    "user_disabled": "The user is disabled: they were signed out and cannot sign in.",
    "user_enabled": "The user can sign in again.",
    "user_deleted": "The user was deleted.",
    "digest_on": "The weekly digest is on: it is e-mailed every Monday with the week before's figures.",
    "digest_off": "The weekly digest is off.",
    "site_created": "The site was created.",
    "site_updated": "The site was saved.",
    "site_secret_rotated": "The site has a new secret: signatures made with the old one fail from now on.",
    "site_deleted": "The site was deleted; its invitations stay answerable on the hosted page.",
}


def notice_text(code: str | None) -> str | None:
    """The sentence a notice code stands for ("replayed_3": how many dead deliveries went out again)."""
    if not code:
        return None
    if code.startswith("replayed_") and code[9:].isdigit():
        count = int(code[9:])
        return f"{count} dead deliver{'y' if count == 1 else 'ies'} queued again."
    return NOTICES.get(code, "Done.")


def section_page(request: Request, user: User, template: str, context: dict[str, Any], *, status_code: int = 200,
                 block: str | None = None) -> HTMLResponse:
    """A settings page with its section links and, on a whole page (not an htmx update), the flash left for it."""
    flash = None if is_htmx(request) else pop_flash(request)
    shared = {"sections": SECTIONS, "flash": flash, "notice": notice_text(flash.notice) if flash else None,
              "error": None, "form": {}}
    return page(request, user, template, {**shared, **context}, status_code=status_code, block=block)


def done(request: Request, route: str, *, notice: str | None = None, kind: str | None = None,
         about: str | None = None, secret: str | None = None, anchor: str = "", **params: Any) -> RedirectResponse:
    """303 to the page of `route`, which shows the notice (and the secret) once."""
    set_flash(request, notice=notice, kind=kind, about=about, secret=secret)
    return RedirectResponse(request.url_for(route, **params).path + anchor, status_code=303)


def refused(session: Session, exc: Exception, again: Callable[..., HTMLResponse], **extra: Any) -> HTMLResponse:
    """Nothing changed: the section page again (`again`) with the reason, at the error's status."""
    session.rollback()
    if isinstance(exc, ValidationError):
        message = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
                            for e in exc.errors())
        status = 422
    else:
        message, status = getattr(exc, "message", str(exc)), getattr(exc, "status_code", 400)
    return again(error=message, status_code=status, **extra)


def acting(request: Request, user: User) -> audit.Actor:
    """The signed-in user at this address, as the audit log names them."""
    return audit.actor_from_request(request, user=user)
