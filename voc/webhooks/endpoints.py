"""Webhook endpoints: saving them safely, their secrets and rotation, enabling and disabling."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlmodel import Session

from voc.config import get_settings
from voc.db import utcnow
from voc.errors import Invalid, NotFound
from voc.webhooks.mapping import PRESETS, MappingError, validate_template
from voc.webhooks.models import MessageStatus, WebhookEndpoint, WebhookMessage
from voc.webhooks.schemas import MASK, EndpointCreate, EndpointPublic, EndpointUpdate
from voc.webhooks.sealing import seal, unseal
from voc.webhooks.signing import generate_secret
from voc.webhooks.ssrf import check_url


def _check_target(url: str, preset: str, template: str | None, event_types: list[str]) -> None:
    # Refused at save time here, and again at send time (DNS can change in between).
    check_url(url, allow_private=get_settings().webhook_allow_private)
    if preset not in PRESETS:
        raise MappingError("unknown_payload_preset", f"unknown preset {preset!r}; one of {', '.join(PRESETS)}")
    validate_template(template, preset, event_types)


def create_endpoint(session: Session, body: EndpointCreate) -> tuple[WebhookEndpoint, str]:
    """Save an endpoint; returns it with its new signing secret, which is shown only this once."""
    _check_target(body.url, body.preset, body.template, body.event_types)
    secret = generate_secret()
    endpoint = WebhookEndpoint(url=body.url, event_types=body.event_types, enabled=body.enabled,
                               description=body.description, preset=body.preset, template=body.template,
                               headers={name: seal(value) for name, value in body.headers.items()},
                               secret=seal(secret))
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def list_endpoints(session: Session) -> list[WebhookEndpoint]:
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def get_endpoint(session: Session, endpoint_id: int, *, for_update: bool = False) -> WebhookEndpoint:
    query = select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
    endpoint = session.scalar(query.with_for_update() if for_update else query)
    if endpoint is None:
        raise NotFound(f"no webhook endpoint {endpoint_id}", code="webhook_not_found")
    return endpoint


def update_endpoint(session: Session, endpoint_id: int, body: EndpointUpdate) -> WebhookEndpoint:
    """Change an endpoint; the URL and template are checked again, re-enabling clears the failure."""
    endpoint = get_endpoint(session, endpoint_id)
    changes = body.model_dump(exclude_unset=True)
    for name in ("url", "event_types", "description", "preset", "enabled"):
        if name in changes and changes[name] is None:
            raise Invalid(f"{name} cannot be null")
    if {"url", "preset", "template", "event_types"} & changes.keys():
        _check_target(changes.get("url", endpoint.url), changes.get("preset", endpoint.preset),
                      changes.get("template", endpoint.template),
                      changes.get("event_types", endpoint.event_types))
    for name in ("url", "event_types", "description", "preset", "template"):
        if name in changes:
            setattr(endpoint, name, changes[name])
    if body.headers is not None:
        headers = {name: value for name, value in endpoint.headers.items()
                   if name.lower() not in {given.lower() for given in body.headers}}
        headers.update({name: seal(value) for name, value in body.headers.items() if value is not None})
        endpoint.headers = headers
    if body.enabled is True and not endpoint.enabled:
        endpoint.enabled, endpoint.disabled_reason, endpoint.failing_since = True, None, None
    elif body.enabled is False and endpoint.enabled:
        disable_endpoint(session, endpoint, "disabled through the API")
    endpoint.updated_at = utcnow()
    session.add(endpoint)
    session.flush()
    return endpoint


def delete_endpoint(session: Session, endpoint_id: int) -> None:
    """Remove an endpoint with its messages and attempts (their queued jobs then find nothing to do)."""
    session.delete(get_endpoint(session, endpoint_id))
    session.flush()


def disable_endpoint(session: Session, endpoint: WebhookEndpoint, reason: str) -> None:
    """Stop sending to an endpoint and say why; its waiting messages die, to be replayed once it is back."""
    # Messages first, then the endpoint row: the order a delivery locks them in, so the two cannot deadlock.
    with session.no_autoflush:
        session.execute(
            update(WebhookMessage)
            .where(WebhookMessage.endpoint_id == endpoint.id,
                   WebhookMessage.status.in_([MessageStatus.pending, MessageStatus.failed]))
            .values(status=MessageStatus.dead, next_attempt_at=None,
                    last_error=f"endpoint disabled: {reason}"[:1000])
            .execution_options(synchronize_session=False)
        )
    endpoint.enabled, endpoint.disabled_reason = False, reason[:500]
    endpoint.updated_at = utcnow()
    session.add(endpoint)
    session.flush()


def rotate_secret(session: Session, endpoint_id: int, grace_hours: float) -> tuple[WebhookEndpoint, str]:
    """A new signing secret; the old one keeps signing alongside it for `grace_hours`."""
    endpoint = get_endpoint(session, endpoint_id, for_update=True)
    secret = generate_secret()
    if grace_hours > 0:
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = utcnow() + timedelta(hours=grace_hours)
    else:
        endpoint.previous_secret, endpoint.previous_secret_expires_at = None, None
    endpoint.secret = seal(secret)
    endpoint.updated_at = utcnow()
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def signing_secrets(endpoint: WebhookEndpoint, now: datetime | None = None) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the previous one during its grace period."""
    secrets = [unseal(endpoint.secret)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires and expires > (now or utcnow()):
        secrets.append(unseal(endpoint.previous_secret))
    return secrets


def custom_headers(endpoint: WebhookEndpoint) -> dict[str, str]:
    """The endpoint's own headers in clear, for sending only: never log or return them."""
    return {name: unseal(value) for name, value in endpoint.headers.items()}


def endpoint_public(endpoint: WebhookEndpoint) -> EndpointPublic:
    """The API shape: header names with masked values, never a secret."""
    return EndpointPublic(
        id=endpoint.id, url=endpoint.url, event_types=endpoint.event_types, enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason, description=endpoint.description,
        headers=dict.fromkeys(endpoint.headers, MASK), preset=endpoint.preset, template=endpoint.template,
        failing_since=endpoint.failing_since, previous_secret_expires_at=endpoint.previous_secret_expires_at,
        created_at=endpoint.created_at, updated_at=endpoint.updated_at,
    )
