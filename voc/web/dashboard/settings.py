"""Dashboard: settings — API keys, webhook endpoints with their delivery log, and dashboard users.

Everyone signed in may look, read-only: key names and scopes, webhook endpoints by host only (a path,
query string or header may hold a credential), statuses, and of the users only themselves. Only admins
see endpoints' URLs and header names, other users, and change anything; never a secret, key or header
value. A new key or signing secret is shown once, in the answer to the request that made it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from voc import audit
from voc.api.deps import SessionDep
from voc.auth import service as keys
from voc.auth import users
from voc.auth.models import Role, User
from voc.config import get_settings
from voc.crm import connections
from voc.crm.schemas import ConnectionCreate, ConnectionUpdate
from voc.crm.tasks import queue_hubspot_setup
from voc.errors import Invalid, VocError
from voc.ids import ApiKeyId, UserId, WebhookId, is_row_id, parse_row_id
from voc.web.auth import Admin, CsrfChecked, Viewer
from voc.web.dashboard.common import page
from voc.webhooks import deliveries, endpoints, holds, outbox
from voc.webhooks.mapping import DEFAULT_PRESET, PRESETS
from voc.webhooks.models import WebhookEndpoint
from voc.webhooks.samples import EVENT_TYPES
from voc.webhooks.schemas import EndpointCreate, EndpointUpdate
from voc.webhooks.targets import METHODS

router = APIRouter()
TEMPLATE = "dashboard/settings.html"


@dataclass(frozen=True)
class EndpointSummary:
    """A webhook endpoint as a non-admin sees it: where it points by host, never its path, query or headers."""

    id: int
    url: str  # scheme://host[:port]
    description: str
    event_types: list[str]
    preset: str
    header_count: int
    enabled: bool
    disabled_reason: str | None
    method: str = "POST"
    credentials_rejected_at: datetime | None = None
    credentials_rejected_reason: str | None = None


def endpoint_host(url: str) -> str:
    """scheme://host[:port] of a URL, without user, path, query or fragment."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(not a valid URL)"
    host = parts.hostname or ""
    return f"{parts.scheme}://{f'[{host}]' if ':' in host else host}{port}"


def _without_url(text: str | None, url: str) -> str | None:
    """`text` (an error about a delivery) with the endpoint's URL reduced to its host."""
    if not text:
        return text
    parts = urlsplit(url)
    text = text.replace(url, endpoint_host(url))
    for secret in (parts.path + (f"?{parts.query}" if parts.query else ""), parts.query, parts.path):
        if len(secret) > 1:
            text = text.replace(secret, "…")
    return text


def _summary(endpoint: WebhookEndpoint) -> EndpointSummary:
    return EndpointSummary(id=endpoint.id or 0, url=endpoint_host(endpoint.url), description=endpoint.description,
                           event_types=list(endpoint.event_types), preset=endpoint.preset,
                           header_count=len(endpoint.headers or {}), enabled=endpoint.enabled,
                           disabled_reason=_without_url(endpoint.disabled_reason, endpoint.url),
                           method=endpoint.method, credentials_rejected_at=endpoint.credentials_rejected_at,
                           credentials_rejected_reason=_without_url(endpoint.credentials_rejected_reason,
                                                                    endpoint.url))


def _settings_page(request: Request, user: User, session: Session, *, endpoint: int | None = None,
                   status_code: int = 200, **extra: Any) -> HTMLResponse:
    admin = user.role == Role.admin
    shown = None
    if endpoint is not None and is_row_id(endpoint):  # out of range: shown as an unknown endpoint is
        try:
            row = endpoints.get_endpoint(session, endpoint)
            items = deliveries.list_deliveries(session, endpoint, limit=50).items
            if not admin:
                items = [d.model_copy(update={"last_error": _without_url(d.last_error, row.url),
                                              "attempts": [a.model_copy(update={
                                                  "url": a.url and endpoint_host(a.url),
                                                  "error": _without_url(a.error, a.url or row.url)})
                                                  for a in d.attempts]}) for d in items]
            shown = (row if admin else _summary(row), items)
        except VocError:
            shown = None
    rows = endpoints.list_endpoints(session)
    everyone = users.list_users(session)
    context = {"keys": keys.list_api_keys(session), "scopes": keys.SCOPES,
               "endpoints": rows if admin else [_summary(e) for e in rows],
               "event_types": EVENT_TYPES, "presets": PRESETS, "default_preset": DEFAULT_PRESET,
               "methods": METHODS, "held": holds.held_counts(session),
               "connections": [connections.connection_public(c) for c in connections.list_connections(session)],
               # Others' e-mail addresses are for admins only.
               "users": everyone if admin else [u for u in everyone if u.id == user.id],
               "other_users": 0 if admin else len(everyone) - 1,
               "roles": list(Role), "shown": shown, "text_retention_days": get_settings().text_retention_days,
               "error": None, "new_key": None, "new_secret": None, "form": {}, **extra}
    return page(request, user, TEMPLATE, context, status_code=status_code)


def _acting(request: Request, user: User) -> audit.Actor:
    return audit.actor_from_request(request, user=user)


def _endpoint_state(session: Session, endpoint_id: int) -> dict[str, Any] | None:
    return audit.state(endpoints.endpoint_public(endpoints.get_endpoint(session, endpoint_id)))


def _connection_state(session: Session, connection_id: int) -> dict[str, Any] | None:
    return audit.state(connections.connection_public(connections.get_connection(session, connection_id)))


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
    audit.record(session, _acting(request, user), "api_key.created", "api_key", key.id or 0,
                 after=audit.api_key_state(key))
    return _settings_page(request, user, session, new_key=(key, plaintext), status_code=201)


@router.post("/dashboard/settings/keys/{key_id}/revoke", name="settings_key_revoke", dependencies=[CsrfChecked])
def revoke_key(request: Request, key_id: ApiKeyId, user: Admin, session: SessionDep) -> Response:
    revoked = keys.revoke_api_key(session, key_id)
    if revoked is not None:
        audit.record(session, _acting(request, user), "api_key.revoked", "api_key", key_id,
                     after=audit.api_key_state(revoked))
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


def _preset_options(preset: str, id_property: str, create_missing: str, external_id_field: str) -> dict[str, Any]:
    """The CRM options a form gives, for the preset they belong to."""
    if preset == "hubspot-contact-properties":
        return {"id_property": id_property.strip() or None, "create_missing": create_missing == "true"}
    if preset == "salesforce-sobject" and external_id_field.strip():
        return {"external_id_field": external_id_field.strip()}
    return {}


@router.post("/dashboard/settings/webhooks", name="settings_webhook_create", dependencies=[CsrfChecked])
def create_webhook(request: Request, user: Admin, session: SessionDep, url: Annotated[str, Form()] = "",
                   event_types: Annotated[list[str] | None, Form()] = None, description: Annotated[str, Form()] = "",
                   preset: Annotated[str, Form()] = DEFAULT_PRESET, headers: Annotated[str, Form()] = "",
                   method: Annotated[str, Form()] = "", id_property: Annotated[str, Form()] = "",
                   create_missing: Annotated[str, Form()] = "", connection_id: Annotated[str, Form()] = "",
                   external_id_field: Annotated[str, Form()] = "") -> Response:
    """Add an endpoint: its signing secret is in this answer only. A CRM preset may leave the URL out."""
    try:
        body = EndpointCreate(url=url.strip() or None, method=method or None, event_types=event_types or [],
                              description=description, preset=preset, headers=parse_headers(headers),
                              options=_preset_options(preset, id_property, create_missing, external_id_field),
                              connection_id=parse_row_id(connection_id) if preset == "salesforce-sobject" else None)
        endpoint, secret = endpoints.create_endpoint(session, body)
    except (ValidationError, VocError) as exc:
        return _failed(request, user, session, exc, form={"url": url, "event_types": event_types or [],
                                                          "description": description, "preset": preset,
                                                          "method": method, "id_property": id_property,
                                                          "external_id_field": external_id_field})
    audit.record(session, _acting(request, user), "webhook.created", "webhook", endpoint.id or 0,
                 after=endpoints.endpoint_public(endpoint))
    return _settings_page(request, user, session, new_secret=(endpoint, secret), status_code=201)


@router.post("/dashboard/settings/webhooks/{endpoint_id}/credentials", name="settings_webhook_credentials",
             dependencies=[CsrfChecked])
def replace_credentials(request: Request, endpoint_id: WebhookId, user: Admin, session: SessionDep,
                        headers: Annotated[str, Form()] = "") -> Response:
    """Replace the endpoint's headers (a CRM token); deliveries held for refused credentials go out again."""
    try:
        before = _endpoint_state(session, endpoint_id)
        endpoints.update_endpoint(session, endpoint_id, EndpointUpdate(headers=parse_headers(headers)))
    except (ValidationError, VocError) as exc:
        return _failed(request, user, session, exc, endpoint=endpoint_id)
    audit.record(session, _acting(request, user), "webhook.credentials_replaced", "webhook", endpoint_id,
                 before=before, after=_endpoint_state(session, endpoint_id))
    return _back(request, endpoint_id, notice="credentials_replaced")


@router.post("/dashboard/settings/webhooks/{endpoint_id}/crm-setup", name="settings_webhook_crm_setup",
             dependencies=[CsrfChecked])
def set_up_crm(request: Request, endpoint_id: WebhookId, user: Admin, session: SessionDep) -> Response:
    """Create voc's properties in HubSpot with the endpoint's token (a job: HubSpot takes its time)."""
    try:
        queue_hubspot_setup(session, endpoint_id)
    except VocError as exc:
        return _failed(request, user, session, exc)
    return _back(request, notice="crm_setup_queued")


@router.post("/dashboard/settings/webhooks/{endpoint_id}/enabled", name="settings_webhook_enabled",
             dependencies=[CsrfChecked])
def set_webhook_enabled(request: Request, endpoint_id: WebhookId, user: Admin, session: SessionDep,
                        enabled: Annotated[str, Form()] = "") -> Response:
    before = _endpoint_state(session, endpoint_id)
    endpoints.update_endpoint(session, endpoint_id, EndpointUpdate(enabled=enabled == "true"))
    audit.record(session, _acting(request, user), "webhook.updated", "webhook", endpoint_id, before=before,
                 after=_endpoint_state(session, endpoint_id))
    return _back(request, notice="webhook_enabled" if enabled == "true" else "webhook_disabled")


@router.post("/dashboard/settings/webhooks/{endpoint_id}/delete", name="settings_webhook_delete",
             dependencies=[CsrfChecked])
def delete_webhook(request: Request, endpoint_id: WebhookId, user: Admin, session: SessionDep) -> Response:
    before = _endpoint_state(session, endpoint_id)
    endpoints.delete_endpoint(session, endpoint_id)
    audit.record(session, _acting(request, user), "webhook.deleted", "webhook", endpoint_id, before=before)
    return _back(request, notice="webhook_deleted")


@router.post("/dashboard/settings/webhooks/{endpoint_id}/test", name="settings_webhook_test",
             dependencies=[CsrfChecked])
def send_test_event(request: Request, endpoint_id: WebhookId, user: Admin, session: SessionDep,
                    event_type: Annotated[str, Form()] = "", external_id: Annotated[str, Form()] = "") -> Response:
    if event_type and event_type not in EVENT_TYPES:
        raise Invalid(f"unknown event type {event_type!r}")
    outbox.send_test_event(session, endpoint_id, event_type or None, external_id=external_id.strip()[:200] or None)
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


# --- CRM connections (Salesforce) ---------------------------------------------------------------------

@router.post("/dashboard/settings/connections", name="settings_connection_create", dependencies=[CsrfChecked])
def create_connection(request: Request, user: Admin, session: SessionDep, name: Annotated[str, Form()] = "",
                      my_domain_url: Annotated[str, Form()] = "", client_id: Annotated[str, Form()] = "",
                      client_secret: Annotated[str, Form()] = "") -> Response:
    """Add a Salesforce connection; its client secret is never shown again."""
    try:
        created = connections.create_connection(session, ConnectionCreate(
            name=name, my_domain_url=my_domain_url.strip(), client_id=client_id, client_secret=client_secret))
    except (ValidationError, VocError) as exc:
        return _failed(request, user, session, exc, form={"connection_name": name, "my_domain_url": my_domain_url})
    audit.record(session, _acting(request, user), "crm_connection.created", "crm_connection", created.id or 0,
                 after=connections.connection_public(created))
    return _back(request, notice="connection_created")


@router.post("/dashboard/settings/connections/{connection_id}/credentials", name="settings_connection_credentials",
             dependencies=[CsrfChecked])
def replace_connection_credentials(request: Request, connection_id: connections.ConnectionId, user: Admin,
                                   session: SessionDep, client_id: Annotated[str, Form()] = "",
                                   client_secret: Annotated[str, Form()] = "") -> Response:
    """New client credentials: the cached token goes, held deliveries go out again."""
    try:
        given = {"client_id": client_id.strip(), "client_secret": client_secret}
        before = _connection_state(session, connection_id)
        connections.update_connection(session, connection_id,
                                      ConnectionUpdate(**{name: value for name, value in given.items() if value}))
    except (ValidationError, VocError) as exc:
        return _failed(request, user, session, exc)
    audit.record(session, _acting(request, user), "crm_connection.credentials_replaced", "crm_connection",
                 connection_id, before=before, after=_connection_state(session, connection_id))
    return _back(request, notice="credentials_replaced")


@router.post("/dashboard/settings/connections/{connection_id}/delete", name="settings_connection_delete",
             dependencies=[CsrfChecked])
def delete_connection(request: Request, connection_id: connections.ConnectionId, user: Admin,
                      session: SessionDep) -> Response:
    try:
        before = _connection_state(session, connection_id)
        connections.delete_connection(session, connection_id)
    except VocError as exc:
        return _failed(request, user, session, exc)
    audit.record(session, _acting(request, user), "crm_connection.deleted", "crm_connection", connection_id,
                 before=before)
    return _back(request, notice="connection_deleted")


# --- users --------------------------------------------------------------------------------------------

@router.post("/dashboard/settings/users", name="settings_user_create", dependencies=[CsrfChecked])
def create_user(request: Request, user: Admin, session: SessionDep, email: Annotated[str, Form()] = "",
                role: Annotated[str, Form()] = "viewer", password: Annotated[str, Form()] = "") -> Response:
    try:
        created = users.create_user(session, email, role, password)
    except VocError as exc:
        return _failed(request, user, session, exc, form={"email": email, "role": role})
    audit.record(session, _acting(request, user), "user.created", "user", created.id or 0,
                 after=audit.user_state(created))
    return _back(request, notice="user_created")


@router.post("/dashboard/settings/users/{user_id}/role", name="settings_user_role", dependencies=[CsrfChecked])
def change_role(request: Request, user_id: UserId, user: Admin, session: SessionDep,
                role: Annotated[str, Form()] = "") -> Response:
    if user_id == user.id and role != Role.admin:
        return _failed(request, user, session, Invalid("you cannot take the admin role from yourself; "
                                                       "ask another admin"))
    try:
        before = audit.user_state(users.get_user(session, user_id))
        changed = users.set_role(session, user_id, role)
    except VocError as exc:
        return _failed(request, user, session, exc)
    audit.record(session, _acting(request, user), "user.role_changed", "user", user_id, before=before,
                 after=audit.user_state(changed))
    return _back(request, notice="role_changed")


@router.post("/dashboard/settings/users/{user_id}/disabled", name="settings_user_disabled",
             dependencies=[CsrfChecked])
def set_user_disabled(request: Request, user_id: UserId, user: Admin, session: SessionDep,
                      disabled: Annotated[str, Form()] = "") -> Response:
    """Disable a user (their sessions end at once) or enable them again."""
    try:
        target = users.get_user(session, user_id)
        before = audit.user_state(target)
        users.set_disabled(session, target, disabled == "true", actor=user)
    except VocError as exc:
        return _failed(request, user, session, exc)
    audit.record(session, _acting(request, user), "user.disabled" if disabled == "true" else "user.enabled", "user",
                 user_id, before=before, after=audit.user_state(target))
    return _back(request, notice="user_disabled" if disabled == "true" else "user_enabled")


@router.post("/dashboard/settings/users/{user_id}/delete", name="settings_user_delete", dependencies=[CsrfChecked])
def delete_user(request: Request, user_id: UserId, user: Admin, session: SessionDep) -> Response:
    """Delete a user: their sessions end; follow-ups assigned to them become unassigned."""
    try:
        target = users.get_user(session, user_id)
        before = audit.user_state(target)
        users.delete_user(session, target, actor=user)
    except VocError as exc:
        return _failed(request, user, session, exc)
    audit.record(session, _acting(request, user), "user.deleted", "user", user_id, before=before)
    return _back(request, notice="user_deleted")
