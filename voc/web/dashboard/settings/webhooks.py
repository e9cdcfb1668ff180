"""Settings › Webhooks and CRM: webhook endpoints, each on a page of its own with its delivery log, and
Salesforce connections.

Everyone signed in may look, read-only: endpoints by host only (a path, query string or header may hold a
credential), statuses, deliveries. Only admins see endpoints' URLs and header names and change anything;
never a secret, key or header value. A new endpoint's signing secret shows once, on the endpoint's page the
creation redirects to. The delivery log asks for itself again (htmx) while a delivery is about to change."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from voc import audit
from voc.api.deps import SessionDep
from voc.auth.models import Role, User
from voc.crm import connections
from voc.crm.schemas import ConnectionCreate, ConnectionUpdate
from voc.crm.tasks import queue_hubspot_setup
from voc.db import utcnow
from voc.errors import Invalid, VocError
from voc.ids import WebhookId, parse_row_id
from voc.web.auth import Admin, CsrfChecked, Viewer
from voc.web.dashboard.settings.common import acting, done, refused, section_page
from voc.webhooks import deliveries, endpoints, holds, outbox
from voc.webhooks.mapping import DEFAULT_PRESET, PRESETS
from voc.webhooks.models import MessageStatus, WebhookEndpoint
from voc.webhooks.samples import EVENT_TYPES
from voc.webhooks.schemas import DeliveryPublic, EndpointCreate, EndpointUpdate
from voc.webhooks.targets import METHODS

router = APIRouter()
LIST = "dashboard/settings/webhooks.html"
ENDPOINT = "dashboard/settings/webhook.html"
LOG_SIZE = 50
# The log asks again while a delivery is not tried yet, or is retried within this long (the first retry
# comes seconds after a failure; later ones minutes to hours later, not worth asking every 2 s for).
RETRY_SOON = timedelta(seconds=60)


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


def _hosts_only(items: list[DeliveryPublic], endpoint: WebhookEndpoint) -> list[DeliveryPublic]:
    """Deliveries as a non-admin sees them: the requests' URLs and errors reduced to the host."""
    return [d.model_copy(update={"last_error": _without_url(d.last_error, endpoint.url),
                                 "attempts": [a.model_copy(update={
                                     "url": a.url and endpoint_host(a.url),
                                     "error": _without_url(a.error, a.url or endpoint.url)}) for a in d.attempts]})
            for d in items]


def changing_soon(items: Sequence[DeliveryPublic], now: datetime) -> bool:
    """Whether a delivery shown is about to change by itself: not tried yet, or retried within a minute."""
    return any(d.status == MessageStatus.pending
               or (d.status == MessageStatus.failed and d.next_attempt_at is not None
                   and d.next_attempt_at <= now + RETRY_SOON) for d in items)


# --- pages --------------------------------------------------------------------------------------------

def _list_page(request: Request, user: User, session: Session, *, status_code: int = 200,
               **extra: Any) -> HTMLResponse:
    rows = endpoints.list_endpoints(session)
    context = {"endpoints": rows if user.role == Role.admin else [_summary(e) for e in rows],
               "event_types": EVENT_TYPES, "presets": PRESETS, "default_preset": DEFAULT_PRESET, "methods": METHODS,
               "held": holds.held_counts(session),
               "connections": [connections.connection_public(c) for c in connections.list_connections(session)],
               **extra}
    return section_page(request, user, LIST, context, status_code=status_code)


def _endpoint_page(request: Request, user: User, session: Session, endpoint_id: int, *, status_code: int = 200,
                   **extra: Any) -> HTMLResponse:
    """An endpoint with its actions and delivery log; for htmx, the log alone (block `deliveries`)."""
    row = endpoints.get_endpoint(session, endpoint_id)
    admin = user.role == Role.admin
    items = deliveries.list_deliveries(session, endpoint_id, limit=LOG_SIZE).items
    context = {"endpoint": row if admin else _summary(row), "deliveries": items if admin else _hosts_only(items, row),
               "polling": changing_soon(items, utcnow()), "held": holds.held_counts(session).get(endpoint_id, 0),
               **extra}
    return section_page(request, user, ENDPOINT, context, status_code=status_code, block="deliveries")


def _again_list(request: Request, user: User, session: Session) -> Callable[..., HTMLResponse]:
    """The list page again, for `refused`."""
    return lambda **kw: _list_page(request, user, session, **kw)


def _again_endpoint(request: Request, user: User, session: Session, endpoint_id: int) -> Callable[..., HTMLResponse]:
    """The endpoint's page again, for `refused`."""
    return lambda **kw: _endpoint_page(request, user, session, endpoint_id, **kw)


@router.get("/dashboard/settings/webhooks", name="settings_webhooks")
def webhooks_page(request: Request, user: Viewer, session: SessionDep) -> HTMLResponse:
    return _list_page(request, user, session)


@router.get("/dashboard/settings/webhooks/{endpoint_id}", name="settings_webhook")
def endpoint_page(request: Request, endpoint_id: WebhookId, user: Viewer, session: SessionDep) -> HTMLResponse:
    """One endpoint and its delivery log (htmx asks for the log alone while deliveries are pending)."""
    return _endpoint_page(request, user, session, endpoint_id)


# --- endpoints ----------------------------------------------------------------------------------------

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


def _endpoint_state(session: Session, endpoint_id: int) -> dict[str, Any] | None:
    return audit.state(endpoints.endpoint_public(endpoints.get_endpoint(session, endpoint_id)))


@router.post("/dashboard/settings/webhooks", name="settings_webhook_create", dependencies=[CsrfChecked])
def create_webhook(request: Request, user: Admin, session: SessionDep, url: Annotated[str, Form()] = "",
                   event_types: Annotated[list[str] | None, Form()] = None, description: Annotated[str, Form()] = "",
                   preset: Annotated[str, Form()] = DEFAULT_PRESET, headers: Annotated[str, Form()] = "",
                   method: Annotated[str, Form()] = "", id_property: Annotated[str, Form()] = "",
                   create_missing: Annotated[str, Form()] = "", connection_id: Annotated[str, Form()] = "",
                   external_id_field: Annotated[str, Form()] = "") -> Response:
    """Add an endpoint: its signing secret shows once, on its page. A CRM preset may leave the URL out."""
    try:
        body = EndpointCreate(url=url.strip() or None, method=method or None, event_types=event_types or [],
                              description=description, preset=preset, headers=parse_headers(headers),
                              options=_preset_options(preset, id_property, create_missing, external_id_field),
                              connection_id=parse_row_id(connection_id) if preset == "salesforce-sobject" else None)
        endpoint, secret = endpoints.create_endpoint(session, body)
    except (ValidationError, VocError) as exc:
        return refused(session, exc, _again_list(request, user, session),
                       form={"url": url, "event_types": event_types or [], "description": description,
                             "preset": preset, "method": method, "id_property": id_property,
                             "external_id_field": external_id_field})
    audit.record(session, acting(request, user), "webhook.created", "webhook", endpoint.id or 0,
                 after=endpoints.endpoint_public(endpoint))
    return done(request, "settings_webhook", endpoint_id=endpoint.id, notice="webhook_created",
                kind="webhook_secret", about=str(endpoint.id), secret=secret)


@router.post("/dashboard/settings/webhooks/{endpoint_id}/credentials", name="settings_webhook_credentials",
             dependencies=[CsrfChecked])
def replace_credentials(request: Request, endpoint_id: WebhookId, user: Admin, session: SessionDep,
                        headers: Annotated[str, Form()] = "") -> Response:
    """Replace the endpoint's headers (a CRM token); deliveries held for refused credentials go out again."""
    try:
        before = _endpoint_state(session, endpoint_id)
        endpoints.update_endpoint(session, endpoint_id, EndpointUpdate(headers=parse_headers(headers)))
    except (ValidationError, VocError) as exc:
        return refused(session, exc, _again_endpoint(request, user, session, endpoint_id))
    audit.record(session, acting(request, user), "webhook.credentials_replaced", "webhook", endpoint_id,
                 before=before, after=_endpoint_state(session, endpoint_id))
    return done(request, "settings_webhook", endpoint_id=endpoint_id, notice="credentials_replaced")


@router.post("/dashboard/settings/webhooks/{endpoint_id}/crm-setup", name="settings_webhook_crm_setup",
             dependencies=[CsrfChecked])
def set_up_crm(request: Request, endpoint_id: WebhookId, user: Admin, session: SessionDep) -> Response:
    """Create voc's properties in HubSpot with the endpoint's token (a job: HubSpot takes its time)."""
    try:
        queue_hubspot_setup(session, endpoint_id)
    except VocError as exc:
        return refused(session, exc, _again_endpoint(request, user, session, endpoint_id))
    return done(request, "settings_webhook", endpoint_id=endpoint_id, notice="crm_setup_queued")


@router.post("/dashboard/settings/webhooks/{endpoint_id}/enabled", name="settings_webhook_enabled",
             dependencies=[CsrfChecked])
def set_webhook_enabled(request: Request, endpoint_id: WebhookId, user: Admin, session: SessionDep,
                        enabled: Annotated[str, Form()] = "") -> Response:
    before = _endpoint_state(session, endpoint_id)
    endpoints.update_endpoint(session, endpoint_id, EndpointUpdate(enabled=enabled == "true"))
    audit.record(session, acting(request, user), "webhook.updated", "webhook", endpoint_id, before=before,
                 after=_endpoint_state(session, endpoint_id))
    return done(request, "settings_webhook", endpoint_id=endpoint_id,
                notice="webhook_enabled" if enabled == "true" else "webhook_disabled")


@router.post("/dashboard/settings/webhooks/{endpoint_id}/delete", name="settings_webhook_delete",
             dependencies=[CsrfChecked])
def delete_webhook(request: Request, endpoint_id: WebhookId, user: Admin, session: SessionDep) -> Response:
    before = _endpoint_state(session, endpoint_id)
    endpoints.delete_endpoint(session, endpoint_id)
    audit.record(session, acting(request, user), "webhook.deleted", "webhook", endpoint_id, before=before)
    return done(request, "settings_webhooks", notice="webhook_deleted")


@router.post("/dashboard/settings/webhooks/{endpoint_id}/test", name="settings_webhook_test",
             dependencies=[CsrfChecked])
def send_test_event(request: Request, endpoint_id: WebhookId, user: Admin, session: SessionDep,
                    event_type: Annotated[str, Form()] = "", external_id: Annotated[str, Form()] = "") -> Response:
    if event_type and event_type not in EVENT_TYPES:
        raise Invalid(f"unknown event type {event_type!r}")
    outbox.send_test_event(session, endpoint_id, event_type or None, external_id=external_id.strip()[:200] or None)
    return done(request, "settings_webhook", endpoint_id=endpoint_id, notice="test_queued", anchor="#deliveries")


@router.post("/dashboard/settings/webhooks/{endpoint_id}/deliveries/{msg_id}/replay",
             name="settings_delivery_replay", dependencies=[CsrfChecked])
def replay_delivery(request: Request, endpoint_id: WebhookId, msg_id: str, user: Admin,
                    session: SessionDep) -> Response:
    try:
        deliveries.replay_delivery(session, endpoint_id, msg_id)
    except VocError as exc:
        return refused(session, exc, _again_endpoint(request, user, session, endpoint_id))
    return done(request, "settings_webhook", endpoint_id=endpoint_id, notice="replayed", anchor="#deliveries")


@router.post("/dashboard/settings/webhooks/{endpoint_id}/replay-dead", name="settings_replay_dead",
             dependencies=[CsrfChecked])
def replay_dead(request: Request, endpoint_id: WebhookId, user: Admin, session: SessionDep,
                since: Annotated[str, Form()] = "") -> Response:
    """Replay every dead delivery created since the given time (read as UTC)."""
    again = _again_endpoint(request, user, session, endpoint_id)
    try:
        moment = datetime.fromisoformat(since)
    except ValueError:
        return refused(session, Invalid("give a date and time to replay from"), again)
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    try:
        result = deliveries.replay_dead_since(session, endpoint_id, moment)
    except VocError as exc:
        return refused(session, exc, again)
    return done(request, "settings_webhook", endpoint_id=endpoint_id, notice=f"replayed_{result.replayed}",
                anchor="#deliveries")


# --- CRM connections (Salesforce) ---------------------------------------------------------------------

def _connection_state(session: Session, connection_id: int) -> dict[str, Any] | None:
    return audit.state(connections.connection_public(connections.get_connection(session, connection_id)))


@router.post("/dashboard/settings/connections", name="settings_connection_create", dependencies=[CsrfChecked])
def create_connection(request: Request, user: Admin, session: SessionDep, name: Annotated[str, Form()] = "",
                      my_domain_url: Annotated[str, Form()] = "", client_id: Annotated[str, Form()] = "",
                      client_secret: Annotated[str, Form()] = "") -> Response:
    """Add a Salesforce connection; its client secret is never shown again."""
    try:
        created = connections.create_connection(session, ConnectionCreate(
            name=name, my_domain_url=my_domain_url.strip(), client_id=client_id, client_secret=client_secret))
    except (ValidationError, VocError) as exc:
        return refused(session, exc, _again_list(request, user, session),
                       form={"connection_name": name, "my_domain_url": my_domain_url})
    audit.record(session, acting(request, user), "crm_connection.created", "crm_connection", created.id or 0,
                 after=connections.connection_public(created))
    return done(request, "settings_webhooks", notice="connection_created", anchor="#connections")


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
        return refused(session, exc, _again_list(request, user, session))
    audit.record(session, acting(request, user), "crm_connection.credentials_replaced", "crm_connection",
                 connection_id, before=before, after=_connection_state(session, connection_id))
    return done(request, "settings_webhooks", notice="credentials_replaced", anchor="#connections")


@router.post("/dashboard/settings/connections/{connection_id}/delete", name="settings_connection_delete",
             dependencies=[CsrfChecked])
def delete_connection(request: Request, connection_id: connections.ConnectionId, user: Admin,
                      session: SessionDep) -> Response:
    try:
        before = _connection_state(session, connection_id)
        connections.delete_connection(session, connection_id)
    except VocError as exc:
        return refused(session, exc, _again_list(request, user, session))
    audit.record(session, acting(request, user), "crm_connection.deleted", "crm_connection", connection_id,
                 before=before)
    return done(request, "settings_webhooks", notice="connection_deleted", anchor="#connections")
