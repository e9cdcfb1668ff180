"""Webhook endpoints and their deliveries over JSON (scope webhooks:write, for reading too: the
deliveries hold customer data and the endpoints hold where it goes)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import AwareDatetime

from voc.api.deps import SessionDep, api_key
from voc.auth.models import ApiKey
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

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
WebhooksAdmin = Annotated[ApiKey, Depends(api_key("webhooks:write"))]


@router.post("", status_code=201, response_model=EndpointCreated)
def create_webhook(body: EndpointCreate, session: SessionDep, _key: WebhooksAdmin) -> EndpointCreated:
    """Add an endpoint; the answer carries its signing secret, shown this once."""
    endpoint, secret = endpoints.create_endpoint(session, body)
    return EndpointCreated(**endpoints.endpoint_public(endpoint).model_dump(), secret=secret)


@router.get("", response_model=list[EndpointPublic])
def list_webhooks(session: SessionDep, _key: WebhooksAdmin) -> list[EndpointPublic]:
    return [endpoints.endpoint_public(e) for e in endpoints.list_endpoints(session)]


@router.get("/{endpoint_id}", response_model=EndpointPublic)
def get_webhook(endpoint_id: WebhookId, session: SessionDep, _key: WebhooksAdmin) -> EndpointPublic:
    return endpoints.endpoint_public(endpoints.get_endpoint(session, endpoint_id))


@router.patch("/{endpoint_id}", response_model=EndpointPublic)
def update_webhook(endpoint_id: WebhookId, body: EndpointUpdate, session: SessionDep,
                   _key: WebhooksAdmin) -> EndpointPublic:
    """Change an endpoint; `enabled: true` re-enables one that voc disabled."""
    return endpoints.endpoint_public(endpoints.update_endpoint(session, endpoint_id, body))


@router.delete("/{endpoint_id}", status_code=204)
def delete_webhook(endpoint_id: WebhookId, session: SessionDep, _key: WebhooksAdmin) -> Response:
    endpoints.delete_endpoint(session, endpoint_id)
    return Response(status_code=204)


@router.post("/{endpoint_id}/rotate-secret", response_model=SecretRotated)
def rotate_webhook_secret(endpoint_id: WebhookId, session: SessionDep, _key: WebhooksAdmin,
                          body: RotateSecretIn | None = None) -> SecretRotated:
    """A new secret, shown once; the old one keeps signing alongside it for `grace_hours` (default 24)."""
    endpoint, secret = endpoints.rotate_secret(session, endpoint_id, (body or RotateSecretIn()).grace_hours)
    return SecretRotated(id=endpoint.id, secret=secret,
                         previous_secret_expires_at=endpoint.previous_secret_expires_at)


@router.post("/{endpoint_id}/test", status_code=202, response_model=DeliveryPublic)
def send_test_event(endpoint_id: WebhookId, session: SessionDep, _key: WebhooksAdmin,
                    body: TestEventIn | None = None) -> DeliveryPublic:
    """Queue a sample event (default: the first subscribed type); follow it in the deliveries."""
    message = outbox.send_test_event(session, endpoint_id, (body or TestEventIn()).event_type)
    return deliveries.deliveries_public(session, [message])[0]


@router.get("/{endpoint_id}/deliveries", response_model=DeliveryPage)
def list_deliveries(
    endpoint_id: WebhookId, session: SessionDep, _key: WebhooksAdmin,
    status: str | None = None, event_type: str | None = None,
    from_: Annotated[AwareDatetime | None, Query(alias="from")] = None, to: AwareDatetime | None = None,
    cursor: str | None = None, limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveryPage:
    """Deliveries newest first, each with its attempts; `status=dead` lists what can be replayed."""
    return deliveries.list_deliveries(session, endpoint_id, status=status, event_type=event_type, since=from_,
                                      until=to, cursor=cursor, limit=limit)


@router.get("/{endpoint_id}/deliveries/{delivery_id}", response_model=DeliveryPublic)
def get_delivery(endpoint_id: WebhookId, delivery_id: str, session: SessionDep, _key: WebhooksAdmin) -> DeliveryPublic:
    return deliveries.get_delivery(session, endpoint_id, delivery_id)


@router.post("/{endpoint_id}/deliveries/{delivery_id}/replay", status_code=202, response_model=DeliveryPublic)
def replay_delivery(endpoint_id: WebhookId, delivery_id: str, session: SessionDep,
                    _key: WebhooksAdmin) -> DeliveryPublic:
    """Send a dead (or delivered) message again, with the same webhook-id."""
    return deliveries.replay_delivery(session, endpoint_id, delivery_id)


@router.post("/{endpoint_id}/deliveries/replay-dead", status_code=202, response_model=ReplayResult)
def replay_dead_deliveries(endpoint_id: WebhookId, body: ReplayDeadIn, session: SessionDep,
                           _key: WebhooksAdmin) -> ReplayResult:
    """Send again every dead message created at or after `since`."""
    return deliveries.replay_dead_since(session, endpoint_id, body.since)
