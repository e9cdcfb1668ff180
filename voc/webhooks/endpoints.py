"""Webhook endpoints: saving them safely, their secrets and rotation, enabling and disabling."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from voc.config import get_settings
from voc.crm.models import CrmConnection
from voc.db import utcnow
from voc.errors import Invalid, NotFound
from voc.webhooks import holds
from voc.webhooks.mapping import PRESETS, MappingError, validate_template
from voc.webhooks.models import MessageStatus, WebhookEndpoint, WebhookMessage
from voc.webhooks.schemas import MASK, EndpointCreate, EndpointPublic, EndpointUpdate
from voc.webhooks.sealing import seal, unseal
from voc.webhooks.signing import generate_secret
from voc.webhooks.ssrf import check_url
from voc.webhooks.targets import (
    TargetError,
    check_method,
    check_options,
    check_url_template,
    default_url,
    preset_target,
)


@dataclass
class Target:
    """An endpoint's sending settings, checked together: any one of them can make another invalid."""

    url: str | None
    method: str | None
    preset: str
    template: str | None
    event_types: list[str]
    options: dict[str, Any]
    connection_id: int | None


def _check_target(session: Session, target: Target) -> Target:
    """The target with defaults filled in (method, options, a CRM preset's URL); raises on anything that
    cannot be sent. Refused at save time here, and again at send time (DNS can change in between)."""
    if target.preset not in PRESETS:
        raise MappingError("unknown_payload_preset",
                           f"unknown preset {target.preset!r}; one of {', '.join(PRESETS)}")
    spec = preset_target(target.preset)
    if spec.event_types is not None and set(target.event_types) - set(spec.event_types):
        raise TargetError("event_type_not_supported_by_preset",
                          f"the {target.preset} preset takes only {', '.join(spec.event_types)}")
    connection = None
    if target.connection_id is not None:
        connection = session.get(CrmConnection, target.connection_id)
        if connection is None:
            raise NotFound(f"no CRM connection {target.connection_id}", code="connection_not_found")
        if spec.crm != connection.kind:
            raise TargetError("connection_not_for_preset",
                              f"a {connection.kind} connection goes with the {connection.kind} preset, "
                              f"not {target.preset}")
    options = check_options(target.preset, target.options)
    url = target.url or default_url(target.preset, options, connection.api_version if connection else None)
    if url is None:
        need = " (or a Salesforce connection, connection_id)" if spec.crm == "salesforce" else ""
        raise TargetError("url_missing", f"give the endpoint's url{need}")
    if len(url) > 2048:
        raise TargetError("url_invalid", "the URL is longer than 2048 characters")
    sample = check_url_template(url, has_connection=connection is not None)
    allow_private = get_settings().webhook_allow_private
    check_url(sample if sample is not None else connection.login_url, allow_private=allow_private)
    method = check_method(target.method, target.preset)
    validate_template(target.template, target.preset, target.event_types)
    return Target(url, method, target.preset, target.template, target.event_types, options,
                  target.connection_id)


def create_endpoint(session: Session, body: EndpointCreate) -> tuple[WebhookEndpoint, str]:
    """Save an endpoint; returns it with its new signing secret, which is shown only this once."""
    target = _check_target(session, Target(body.url, body.method, body.preset, body.template, body.event_types,
                                           body.options, body.connection_id))
    secret = generate_secret()
    endpoint = WebhookEndpoint(url=target.url, method=target.method, event_types=body.event_types,
                               enabled=body.enabled, description=body.description, preset=body.preset,
                               template=body.template, options=target.options, connection_id=target.connection_id,
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


def _built_url(session: Session, endpoint: WebhookEndpoint) -> str | None:
    """The URL the endpoint's preset would build from its current options (to tell a built URL from a given one)."""
    connection = session.get(CrmConnection, endpoint.connection_id) if endpoint.connection_id else None
    try:
        options = check_options(endpoint.preset, endpoint.options)
    except TargetError:
        return None
    return default_url(endpoint.preset, options, connection.api_version if connection else None)


def update_endpoint(session: Session, endpoint_id: int, body: EndpointUpdate) -> WebhookEndpoint:
    """Change an endpoint; the URL and template are checked again, re-enabling clears the failure, and new
    credentials (headers, connection) release the deliveries held since the CRM refused the old ones."""
    endpoint = get_endpoint(session, endpoint_id)
    changes = body.model_dump(exclude_unset=True)
    for name in ("event_types", "description", "preset", "enabled", "options"):
        if name in changes and changes[name] is None:
            raise Invalid(f"{name} cannot be null")
    targeting = {"url", "method", "preset", "template", "event_types", "options", "connection_id"}
    if targeting & changes.keys():
        url = changes.get("url", endpoint.url)
        if "url" not in changes and endpoint.url == _built_url(session, endpoint) and \
                {"preset", "options", "connection_id"} & changes.keys():
            url = None  # voc built it: it builds it again from the new settings
        method = changes.get("method", endpoint.method if "preset" not in changes else None)
        target = _check_target(session, Target(
            url, method, changes.get("preset", endpoint.preset), changes.get("template", endpoint.template),
            changes.get("event_types", endpoint.event_types), changes.get("options", endpoint.options),
            changes.get("connection_id", endpoint.connection_id)))
        endpoint.url, endpoint.method, endpoint.options = target.url, target.method, target.options
        endpoint.connection_id = target.connection_id
    for name in ("event_types", "description", "preset", "template"):
        if name in changes:
            setattr(endpoint, name, changes[name])
    new_credentials = body.headers is not None or "connection_id" in changes
    if body.headers is not None:
        headers = {name: value for name, value in endpoint.headers.items()
                   if name.lower() not in {given.lower() for given in body.headers}}
        headers.update({name: seal(value) for name, value in body.headers.items() if value is not None})
        endpoint.headers = headers
    if new_credentials and endpoint.credentials_rejected_at is not None:
        holds.release_held(session, endpoint)
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
                   WebhookMessage.status.in_([MessageStatus.pending, MessageStatus.failed, MessageStatus.held]))
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
        id=endpoint.id, url=endpoint.url, method=endpoint.method, event_types=endpoint.event_types,
        enabled=endpoint.enabled, disabled_reason=endpoint.disabled_reason, description=endpoint.description,
        headers=dict.fromkeys(endpoint.headers, MASK), preset=endpoint.preset, template=endpoint.template,
        options=endpoint.options, connection_id=endpoint.connection_id,
        credentials_rejected_at=endpoint.credentials_rejected_at,
        credentials_rejected_reason=endpoint.credentials_rejected_reason,
        crm_setup_result=endpoint.crm_setup_result, crm_setup_at=endpoint.crm_setup_at,
        failing_since=endpoint.failing_since, previous_secret_expires_at=endpoint.previous_secret_expires_at,
        created_at=endpoint.created_at, updated_at=endpoint.updated_at,
    )
