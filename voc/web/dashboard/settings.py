"""Dashboard: settings — API keys, webhook endpoints with their delivery log, and dashboard users.

Everyone signed in may look (read-only: names, scopes, URLs, statuses; never a secret, key or header
value); only admins change anything. A new key or signing secret is shown once, in the answer to the
request that made it, and never again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from voc.api.deps import SessionDep
from voc.auth import service as keys
from voc.auth import users
from voc.auth.models import Role, User
from voc.errors import Invalid, VocError
from voc.ids import ApiKeyId, UserId, WebhookId, is_row_id
from voc.web.auth import Admin, CsrfChecked, Viewer
from voc.web.dashboard.common import page
from voc.webhooks import deliveries, endpoints, outbox
from voc.webhooks.mapping import DEFAULT_PRESET, PRESETS
from voc.webhooks.samples import EVENT_TYPES
from voc.webhooks.schemas import EndpointCreate, EndpointUpdate

router = APIRouter()
TEMPLATE = "dashboard/settings.html"


def _settings_page(request: Request, user: User, session: Session, *, endpoint: int | None = None,
                   status_code: int = 200, **extra: Any) -> HTMLResponse:
    shown = None
    if endpoint is not None and is_row_id(endpoint):  # out of range: shown as an unknown endpoint is
        try:
            shown = (endpoints.get_endpoint(session, endpoint),
                     deliveries.list_deliveries(session, endpoint, limit=50).items)
        except VocError:
            shown = None
    context = {"keys": keys.list_api_keys(session), "scopes": keys.SCOPES,
               "endpoints": endpoints.list_endpoints(session),
               "event_types": EVENT_TYPES, "presets": PRESETS, "default_preset": DEFAULT_PRESET,
               "users": users.list_users(session), "roles": list(Role), "shown": shown,
               "error": None, "new_key": None, "new_secret": None, "form": {}, **extra}
    return page(request, user, TEMPLATE, context, status_code=status_code)


def _back(request: Request, endpoint: int | None = None, notice: str | None = None) -> RedirectResponse:
    url = request.url_for("dashboard_settings")
    params = {k: v for k, v in {"endpoint": endpoint, "notice": notice}.items() if v is not None}
    anchor = "#deliveries" if endpoint else ""
    return RedirectResponse(str(url.include_query_params(**params)) + anchor, status_code=303)


def _failed(request: Request, user: User, session: Session, exc: Exception, **extra: Any) -> HTMLResponse:
    session.rollback()
    if isinstance(exc, ValidationError):
        message = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
                            for e in exc.errors())
        status = 422
    else:
        message, status = getattr(exc, "message", str(exc)), getattr(exc, "status_code", 400)
    return _settings_page(request, user, session, error=message, status_code=status, **extra)


@router.get("/dashboard/settings", name="dashboard_settings")
def settings_page(request: Request, user: Viewer, session: SessionDep, endpoint: int | None = None,
                  notice: str | None = None) -> HTMLResponse:
    return _settings_page(request, user, session, endpoint=endpoint, notice=notice)


# --- API keys -----------------------------------------------------------------------------------------

@router.post("/dashboard/settings/keys", name="settings_key_create", dependencies=[CsrfChecked])
def create_key(request: Request, user: Admin, session: SessionDep, name: Annotated[str, Form()] = "",
               scopes: Annotated[list[str] | None, Form()] = None) -> Response:
    """Make an API key: its plaintext is in this answer only."""
    try:
        if not name.strip():
            raise Invalid("give the key a name", code="name_missing")
        key, plaintext = keys.create_api_key(session, name.strip()[:200], scopes or [])
    except VocError as exc:
        return _failed(request, user, session, exc, form={"key_name": name})
    return _settings_page(request, user, session, new_key=(key, plaintext), status_code=201)


@router.post("/dashboard/settings/keys/{key_id}/revoke", name="settings_key_revoke", dependencies=[CsrfChecked])
def revoke_key(request: Request, key_id: ApiKeyId, user: Admin, session: SessionDep) -> Response:
    keys.revoke_api_key(session, key_id)
    return _back(request, notice="key_revoked")


# --- webhooks -----------------------------------------------------------------------------------------

def parse_headers(text: str) -> dict[str, str]:
    """`Name: value` per line, as typed in the form."""
    headers = {}
    for line in text.splitlines():
        if line.strip():
            name, sep, value = line.partition(":")
            if not sep:
                raise Invalid(f"header line {line.strip()[:40]!r} needs the form Name: value", code="bad_header")
            headers[name.strip()] = value.strip()
    return headers


@router.post("/dashboard/settings/webhooks", name="settings_webhook_create", dependencies=[CsrfChecked])
def create_webhook(request: Request, user: Admin, session: SessionDep, url: Annotated[str, Form()] = "",
                   event_types: Annotated[list[str] | None, Form()] = None, description: Annotated[str, Form()] = "",
                   preset: Annotated[str, Form()] = DEFAULT_PRESET, headers: Annotated[str, Form()] = "") -> Response:
    """Add an endpoint: its signing secret is in this answer only."""
    try:
        body = EndpointCreate(url=url.strip(), event_types=event_types or [], description=description,
                              preset=preset, headers=parse_headers(headers))
        endpoint, secret = endpoints.create_endpoint(session, body)
    except (ValidationError, VocError) as exc:
        return _failed(request, user, session, exc, form={"url": url, "event_types": event_types or [],
                                                          "description": description, "preset": preset})
    return _settings_page(request, user, session, new_secret=(endpoint, secret), status_code=201)


@router.post("/dashboard/settings/webhooks/{endpoint_id}/enabled", name="settings_webhook_enabled",
             dependencies=[CsrfChecked])
def set_webhook_enabled(request: Request, endpoint_id: WebhookId, user: Admin, session: SessionDep,
                        enabled: Annotated[str, Form()] = "") -> Response:
    endpoints.update_endpoint(session, endpoint_id, EndpointUpdate(enabled=enabled == "true"))
    return _back(request, notice="webhook_enabled" if enabled == "true" else "webhook_disabled")


@router.post("/dashboard/settings/webhooks/{endpoint_id}/delete", name="settings_webhook_delete",
             dependencies=[CsrfChecked])
def delete_webhook(request: Request, endpoint_id: WebhookId, user: Admin, session: SessionDep) -> Response:
    endpoints.delete_endpoint(session, endpoint_id)
    return _back(request, notice="webhook_deleted")


@router.post("/dashboard/settings/webhooks/{endpoint_id}/test", name="settings_webhook_test",
             dependencies=[CsrfChecked])
def send_test_event(request: Request, endpoint_id: WebhookId, user: Admin, session: SessionDep,
                    event_type: Annotated[str, Form()] = "") -> Response:
    if event_type and event_type not in EVENT_TYPES:
        raise Invalid(f"unknown event type {event_type!r}")
    outbox.send_test_event(session, endpoint_id, event_type or None)
    return _back(request, endpoint_id, notice="test_queued")


@router.post("/dashboard/settings/webhooks/{endpoint_id}/deliveries/{msg_id}/replay",
             name="settings_delivery_replay", dependencies=[CsrfChecked])
def replay_delivery(request: Request, endpoint_id: WebhookId, msg_id: str, user: Admin,
                    session: SessionDep) -> Response:
    try:
        deliveries.replay_delivery(session, endpoint_id, msg_id)
    except VocError as exc:
        return _failed(request, user, session, exc, endpoint=endpoint_id)
    return _back(request, endpoint_id, notice="replayed")


@router.post("/dashboard/settings/webhooks/{endpoint_id}/replay-dead", name="settings_replay_dead",
             dependencies=[CsrfChecked])
def replay_dead(request: Request, endpoint_id: WebhookId, user: Admin, session: SessionDep,
                since: Annotated[str, Form()] = "") -> Response:
    """Replay every dead delivery created since the given time (read as UTC)."""
    try:
        moment = datetime.fromisoformat(since)
    except ValueError:
        return _failed(request, user, session, Invalid("give a date and time to replay from"), endpoint=endpoint_id)
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    try:
        result = deliveries.replay_dead_since(session, endpoint_id, moment)
    except VocError as exc:
        return _failed(request, user, session, exc, endpoint=endpoint_id)
    return _back(request, endpoint_id, notice=f"replayed_{result.replayed}")


# --- users --------------------------------------------------------------------------------------------

@router.post("/dashboard/settings/users", name="settings_user_create", dependencies=[CsrfChecked])
def create_user(request: Request, user: Admin, session: SessionDep, email: Annotated[str, Form()] = "",
                role: Annotated[str, Form()] = "viewer", password: Annotated[str, Form()] = "") -> Response:
    try:
        users.create_user(session, email, role, password)
    except VocError as exc:
        return _failed(request, user, session, exc, form={"email": email, "role": role})
    return _back(request, notice="user_created")


@router.post("/dashboard/settings/users/{user_id}/role", name="settings_user_role", dependencies=[CsrfChecked])
def change_role(request: Request, user_id: UserId, user: Admin, session: SessionDep,
                role: Annotated[str, Form()] = "") -> Response:
    if user_id == user.id and role != Role.admin:
        return _failed(request, user, session, Invalid("you cannot take the admin role from yourself; "
                                                       "ask another admin"))
    users.set_role(session, user_id, role)
    return _back(request, notice="role_changed")
