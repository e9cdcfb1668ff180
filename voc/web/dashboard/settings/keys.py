"""Settings › API keys: names, scopes and use for everyone signed in; admins make and revoke keys.

A new key's plaintext is shown once, on the page the creation redirects to (voc keeps only its hash)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from voc import audit
from voc.api.deps import SessionDep
from voc.auth import service as keys
from voc.auth.models import User
from voc.errors import Invalid, VocError
from voc.ids import ApiKeyId
from voc.web.auth import Admin, CsrfChecked, Viewer
from voc.web.dashboard.settings.common import acting, done, refused, section_page

router = APIRouter()
TEMPLATE = "dashboard/settings/keys.html"


def _keys_page(request: Request, user: User, session: Session, *, status_code: int = 200,
               **extra: Any) -> HTMLResponse:
    return section_page(request, user, TEMPLATE, {"keys": keys.list_api_keys(session), "scopes": keys.SCOPES,
                                                  **extra}, status_code=status_code)


@router.get("/dashboard/settings/keys", name="settings_keys")
def keys_page(request: Request, user: Viewer, session: SessionDep) -> HTMLResponse:
    return _keys_page(request, user, session)


@router.post("/dashboard/settings/keys", name="settings_key_create", dependencies=[CsrfChecked])
def create_key(request: Request, user: Admin, session: SessionDep, name: Annotated[str, Form()] = "",
               scopes: Annotated[list[str] | None, Form()] = None) -> Response:
    """Make an API key: its plaintext shows once, on the page this redirects to."""
    try:
        if not name.strip():
            raise Invalid("give the key a name", code="name_missing")
        key, plaintext = keys.create_api_key(session, name.strip()[:200], scopes or [])
    except VocError as exc:
        return refused(session, exc, lambda **kw: _keys_page(request, user, session, **kw), form={"key_name": name})
    audit.record(session, acting(request, user), "api_key.created", "api_key", key.id or 0,
                 after=audit.api_key_state(key))
    return done(request, "settings_keys", notice="key_created", kind="api_key", about=key.name, secret=plaintext)


@router.post("/dashboard/settings/keys/{key_id}/revoke", name="settings_key_revoke", dependencies=[CsrfChecked])
def revoke_key(request: Request, key_id: ApiKeyId, user: Admin, session: SessionDep) -> Response:
    revoked = keys.revoke_api_key(session, key_id)
    if revoked is not None:
        audit.record(session, acting(request, user), "api_key.revoked", "api_key", key_id,
                     after=audit.api_key_state(revoked))
    return done(request, "settings_keys", notice="key_revoked")
