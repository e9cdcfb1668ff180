"""Webhook endpoints and their deliveries over JSON (scope webhooks:write, for reading too: the
deliveries hold customer data and the endpoints hold where it goes)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import AwareDatetime

from voc import audit
from voc.api.deps import SessionDep, WebhooksWriterActor, api_key
from voc.api.errors import BODY_ERRORS, KEYED_ERRORS, WRITE_ERRORS, error_responses
from voc.auth.models import ApiKey
from voc.crm import connections
from voc.crm.connections import ConnectionId
from voc.crm.schemas import ConnectionCreate, ConnectionPublic, ConnectionUpdate
from voc.ids import WebhookId
from voc.webhooks import deliveries, endpoints, outbox
from voc.webhooks.schemas import (
    DeliveryPage,
    DeliveryPublic,
    EndpointCreate,
    EndpointCreated,
    EndpointPublic,
    EndpointUpdate,
    ReplayDeadIn,
    ReplayResult,
    RotateSecretIn,
    SecretRotated,
    TestEventIn,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"], responses=error_responses(KEYED_ERRORS))
_NO_ENDPOINT = {404: ("webhook_not_found",)}
_NO_DELIVERY = {404: ("webhook_not_found", "delivery_not_found")}
# The receiver's URL (checked against private addresses) and the payload's preset or template.
_TARGET_ERRORS = {422: ("url_invalid", "url_scheme_not_allowed", "url_private_address", "url_unresolvable",
                        "unknown_payload_preset", "invalid_payload_template",
                        "url_unknown_placeholder", "url_placeholder_in_host", "url_missing", "method_not_allowed",
                        "invalid_options", "event_type_not_supported_by_preset", "connection_not_for_preset"),
                  404: ("connection_not_found",)}
_NO_CONNECTION = {404: ("connection_not_found",)}
_CONNECTION_URL = {422: ("url_invalid", "url_scheme_not_allowed", "url_private_address", "url_unresolvable")}
WebhooksAdmin = Annotated[ApiKey, Depends(api_key("webhooks:write"))]


# CRM connections come before the /{endpoint_id} routes, which would otherwise take "connections" for an id.
@router.post("/connections", status_code=201, response_model=ConnectionPublic,
             responses=error_responses(KEYED_ERRORS, BODY_ERRORS, _CONNECTION_URL))
def create_connection(body: ConnectionCreate, session: SessionDep, actor: WebhooksWriterActor) -> ConnectionPublic:
    """Add a Salesforce connection (My Domain URL, connected app's client id and secret; the secret is never shown)."""
    created = connections.connection_public(connections.create_connection(session, body))
    audit.record(session, actor, "crm_connection.created", "crm_connection", created.id, after=created)
    return created


@router.get("/connections", response_model=list[ConnectionPublic])
def list_connections(session: SessionDep, _key: WebhooksAdmin) -> list[ConnectionPublic]:
    return [connections.connection_public(c) for c in connections.list_connections(session)]


@router.patch("/connections/{connection_id}", response_model=ConnectionPublic,
              responses=error_responses(KEYED_ERRORS, BODY_ERRORS, _NO_CONNECTION, _CONNECTION_URL))
def update_connection(connection_id: ConnectionId, body: ConnectionUpdate, session: SessionDep,
                      actor: WebhooksWriterActor) -> ConnectionPublic:
    """Change a connection; new credentials release the deliveries held since Salesforce refused the old ones."""
    before = audit.state(connections.connection_public(connections.get_connection(session, connection_id)))
    after = connections.connection_public(connections.update_connection(session, connection_id, body))
    audit.record(session, actor, "crm_connection.updated", "crm_connection", connection_id, before=before,
                 after=after)
    return after


@router.delete("/connections/{connection_id}", status_code=204,
               responses=error_responses(KEYED_ERRORS, WRITE_ERRORS, _NO_CONNECTION,
                                         {409: ("connection_in_use",)}))
def delete_connection(connection_id: ConnectionId, session: SessionDep, actor: WebhooksWriterActor) -> Response:
    before = audit.state(connections.connection_public(connections.get_connection(session, connection_id)))
    connections.delete_connection(session, connection_id)
    audit.record(session, actor, "crm_connection.deleted", "crm_connection", connection_id, before=before)
    return Response(status_code=204)


@router.post("", status_code=201, response_model=EndpointCreated,
             responses=error_responses(KEYED_ERRORS, BODY_ERRORS, _TARGET_ERRORS))
def create_webhook(body: EndpointCreate, session: SessionDep, actor: WebhooksWriterActor) -> EndpointCreated:
    """Add an endpoint; the answer carries its signing secret, shown this once."""
    endpoint, secret = endpoints.create_endpoint(session, body)
    audit.record(session, actor, "webhook.created", "webhook", endpoint.id or 0,
                 after=endpoints.endpoint_public(endpoint))
    return EndpointCreated(**endpoints.endpoint_public(endpoint).model_dump(), secret=secret)


@router.get("", response_model=list[EndpointPublic])
def list_webhooks(session: SessionDep, _key: WebhooksAdmin) -> list[EndpointPublic]:
    return [endpoints.endpoint_public(e) for e in endpoints.list_endpoints(session)]


@router.get("/{endpoint_id}", response_model=EndpointPublic, responses=error_responses(KEYED_ERRORS, _NO_ENDPOINT))
def get_webhook(endpoint_id: WebhookId, session: SessionDep, _key: WebhooksAdmin) -> EndpointPublic:
    return endpoints.endpoint_public(endpoints.get_endpoint(session, endpoint_id))


@router.patch("/{endpoint_id}", response_model=EndpointPublic,
              responses=error_responses(KEYED_ERRORS, BODY_ERRORS, _NO_ENDPOINT, _TARGET_ERRORS))
def update_webhook(endpoint_id: WebhookId, body: EndpointUpdate, session: SessionDep,
                   actor: WebhooksWriterActor) -> EndpointPublic:
    """Change an endpoint; `enabled: true` re-enables one that voc disabled."""
    before = audit.state(endpoints.endpoint_public(endpoints.get_endpoint(session, endpoint_id)))
    after = endpoints.endpoint_public(endpoints.update_endpoint(session, endpoint_id, body))
    audit.record(session, actor, "webhook.updated", "webhook", endpoint_id, before=before, after=after)
    return after


@router.delete("/{endpoint_id}", status_code=204,
               responses=error_responses(KEYED_ERRORS, WRITE_ERRORS, _NO_ENDPOINT))
def delete_webhook(endpoint_id: WebhookId, session: SessionDep, actor: WebhooksWriterActor) -> Response:
    before = audit.state(endpoints.endpoint_public(endpoints.get_endpoint(session, endpoint_id)))
    endpoints.delete_endpoint(session, endpoint_id)
    audit.record(session, actor, "webhook.deleted", "webhook", endpoint_id, before=before)
    return Response(status_code=204)


@router.post("/{endpoint_id}/rotate-secret", response_model=SecretRotated,
             responses=error_responses(KEYED_ERRORS, BODY_ERRORS, _NO_ENDPOINT))
def rotate_webhook_secret(endpoint_id: WebhookId, session: SessionDep, actor: WebhooksWriterActor,
                          body: RotateSecretIn | None = None) -> SecretRotated:
    """A new secret, shown once; the old one keeps signing alongside it for `grace_hours` (default 24)."""
    endpoint, secret = endpoints.rotate_secret(session, endpoint_id, (body or RotateSecretIn()).grace_hours)
    audit.record(session, actor, "webhook.secret_rotated", "webhook", endpoint_id,
                 after={"previous_secret_expires_at": endpoint.previous_secret_expires_at})
    return SecretRotated(id=endpoint.id, secret=secret,
                         previous_secret_expires_at=endpoint.previous_secret_expires_at)


@router.post("/{endpoint_id}/test", status_code=202, response_model=DeliveryPublic,
             responses=error_responses(KEYED_ERRORS, BODY_ERRORS, _NO_ENDPOINT))
def send_test_event(endpoint_id: WebhookId, session: SessionDep, _key: WebhooksAdmin,
                    body: TestEventIn | None = None) -> DeliveryPublic:
    """Queue a sample event (default: the first subscribed type); follow it in the deliveries."""
    body = body or TestEventIn()
    message = outbox.send_test_event(session, endpoint_id, body.event_type, external_id=body.external_id,
                                     crm=body.crm)
    return deliveries.deliveries_public(session, [message])[0]


@router.get("/{endpoint_id}/deliveries", response_model=DeliveryPage,
            responses=error_responses(KEYED_ERRORS, _NO_ENDPOINT, {422: ("invalid_cursor",)}))
def list_deliveries(
    endpoint_id: WebhookId, session: SessionDep, _key: WebhooksAdmin,
    status: str | None = None, event_type: str | None = None,
    from_: Annotated[AwareDatetime | None, Query(alias="from")] = None, to: AwareDatetime | None = None,
    cursor: str | None = None, limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveryPage:
    """Deliveries newest first, each with its attempts; `status=dead` lists what can be replayed."""
    return deliveries.list_deliveries(session, endpoint_id, status=status, event_type=event_type, since=from_,
                                      until=to, cursor=cursor, limit=limit)


@router.get("/{endpoint_id}/deliveries/{delivery_id}", response_model=DeliveryPublic,
            responses=error_responses(KEYED_ERRORS, _NO_DELIVERY))
def get_delivery(endpoint_id: WebhookId, delivery_id: str, session: SessionDep, _key: WebhooksAdmin) -> DeliveryPublic:
    return deliveries.get_delivery(session, endpoint_id, delivery_id)


@router.post("/{endpoint_id}/deliveries/{delivery_id}/replay", status_code=202, response_model=DeliveryPublic,
             responses=error_responses(KEYED_ERRORS, WRITE_ERRORS, _NO_DELIVERY,
                                       {409: ("delivery_in_progress", "webhook_disabled")}))
def replay_delivery(endpoint_id: WebhookId, delivery_id: str, session: SessionDep,
                    _key: WebhooksAdmin) -> DeliveryPublic:
    """Send a dead (or delivered) message again, with the same webhook-id."""
    return deliveries.replay_delivery(session, endpoint_id, delivery_id)


@router.post("/{endpoint_id}/deliveries/replay-dead", status_code=202, response_model=ReplayResult,
             responses=error_responses(KEYED_ERRORS, BODY_ERRORS, _NO_ENDPOINT, {409: ("webhook_disabled",)}))
def replay_dead_deliveries(endpoint_id: WebhookId, body: ReplayDeadIn, session: SessionDep,
                           _key: WebhooksAdmin) -> ReplayResult:
    """Send again every dead message created at or after `since`."""
    return deliveries.replay_dead_since(session, endpoint_id, body.since)
