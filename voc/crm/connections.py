"""Salesforce connections: saved with their secret sealed, changed (which releases held deliveries), removed."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator
from sqlalchemy import func, select
from sqlmodel import Session

from voc.config import get_settings
from voc.crm.models import CrmConnection
from voc.crm.salesforce import check_login_url
from voc.crm.schemas import ConnectionCreate, ConnectionPublic, ConnectionUpdate
from voc.db import utcnow
from voc.errors import Conflict, Invalid, NotFound
from voc.ids import is_row_id
from voc.webhooks.sealing import seal
from voc.webhooks.ssrf import check_url


def _known_id(value: int) -> int:
    if not is_row_id(value):
        raise NotFound(f"no CRM connection {value}", code="connection_not_found")
    return value


ConnectionId = Annotated[int, AfterValidator(_known_id)]


def _login_url(url: str) -> str:
    try:
        url = check_login_url(url)
    except ValueError as exc:
        raise Invalid(str(exc), code="url_invalid") from None
    check_url(url, allow_private=get_settings().webhook_allow_private)
    return url


def create_connection(session: Session, body: ConnectionCreate) -> CrmConnection:
    """Save a Salesforce connection; its client secret is sealed and never shown again."""
    connection = CrmConnection(kind=body.kind, name=body.name.strip(), login_url=_login_url(body.my_domain_url),
                               client_id=body.client_id.strip(), client_secret=seal(body.client_secret.strip()),
                               api_version=body.api_version)
    session.add(connection)
    session.flush()
    return connection


def list_connections(session: Session) -> list[CrmConnection]:
    return list(session.scalars(select(CrmConnection).order_by(CrmConnection.id)))


def get_connection(session: Session, connection_id: int) -> CrmConnection:
    connection = session.get(CrmConnection, connection_id) if is_row_id(connection_id) else None
    if connection is None:
        raise NotFound(f"no CRM connection {connection_id}", code="connection_not_found")
    return connection


def update_connection(session: Session, connection_id: int, body: ConnectionUpdate) -> CrmConnection:
    """Change a connection. New credentials (URL, client id or secret) drop the cached token and send again
    the deliveries its endpoints held since Salesforce refused the old ones."""
    from voc.webhooks.holds import release_connection_endpoints  # webhooks points at this package too

    connection = get_connection(session, connection_id)
    changes = body.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None:
            raise Invalid(f"{name} cannot be null")
    if "name" in changes:
        connection.name = changes["name"].strip()
    if "api_version" in changes:
        connection.api_version = changes["api_version"]
    credentials = {"my_domain_url", "client_id", "client_secret"} & changes.keys()
    if "my_domain_url" in changes:
        connection.login_url = _login_url(changes["my_domain_url"])
    if "client_id" in changes:
        connection.client_id = changes["client_id"].strip()
    if "client_secret" in changes:
        connection.client_secret = seal(changes["client_secret"].strip())
    connection.updated_at = utcnow()
    if credentials:
        connection.access_token, connection.instance_url, connection.token_issued_at = None, None, None
    session.add(connection)
    session.flush()
    if credentials:
        release_connection_endpoints(session, connection.id)
    return connection


def delete_connection(session: Session, connection_id: int) -> None:
    """Remove a connection no endpoint uses."""
    from voc.webhooks.models import WebhookEndpoint

    connection = get_connection(session, connection_id)
    used = session.scalar(select(func.count(WebhookEndpoint.id)).where(WebhookEndpoint.connection_id == connection.id))
    if used:
        raise Conflict(f"CRM connection {connection.id} is used by {used} webhook endpoint(s); delete or change "
                       "them first", code="connection_in_use")
    session.delete(connection)
    session.flush()


def connection_public(connection: CrmConnection) -> ConnectionPublic:
    """The API shape: never the client secret or the token."""
    return ConnectionPublic(
        id=connection.id, kind=connection.kind, name=connection.name, my_domain_url=connection.login_url,
        client_id_hint=connection.client_id[:6] + "…", api_version=connection.api_version,
        instance_url=connection.instance_url, token_cached=connection.access_token is not None,
        token_issued_at=connection.token_issued_at, created_at=connection.created_at,
        updated_at=connection.updated_at)
