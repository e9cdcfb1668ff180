"""The `crm.hubspot_setup` job: the settings page's "Set up HubSpot properties" button, run by the worker
(a request holds a database transaction; HubSpot may take seconds for thirty calls)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from voc.crm.hubspot import API_URL
from voc.crm.hubspot_setup import SetupError, setup_properties
from voc.db import session_scope, utcnow
from voc.errors import Invalid
from voc.jobs.queue import enqueue, job_handler
from voc.webhooks.endpoints import custom_headers, get_endpoint
from voc.webhooks.models import WebhookEndpoint

SETUP_JOB = "crm.hubspot_setup"


def bearer_token(headers: dict[str, str]) -> str | None:
    """The token of an `Authorization: Bearer …` header, whatever its case."""
    value = next((v for name, v in headers.items() if name.lower() == "authorization"), None)
    if not value or not value.lower().startswith("bearer "):
        return None
    return value[7:].strip() or None


def queue_hubspot_setup(session: Session, endpoint_id: int) -> None:
    """Queue the property setup for a HubSpot endpoint, with the token in its Authorization header."""
    endpoint = get_endpoint(session, endpoint_id)
    if endpoint.preset != "hubspot-contact-properties":
        raise Invalid("only a hubspot-contact-properties endpoint sets up HubSpot properties", code="not_hubspot")
    if not any(name.lower() == "authorization" for name in endpoint.headers):
        raise Invalid("give the endpoint an Authorization: Bearer <private app token> header first",
                      code="hubspot_token_missing")
    endpoint.crm_setup_result, endpoint.crm_setup_at = "queued", utcnow()
    session.add(endpoint)
    enqueue(session, SETUP_JOB, {"endpoint_id": endpoint.id}, max_attempts=3)


@job_handler(SETUP_JOB)
def run_hubspot_setup(session: Session, payload: dict[str, Any]) -> None:
    """Read the token in a short transaction, call HubSpot with none open, write the outcome."""
    with session_scope(session.get_bind()) as reading:
        endpoint = reading.get(WebhookEndpoint, payload["endpoint_id"])
        if endpoint is None:
            return
        token = bearer_token(custom_headers(endpoint))
        options = endpoint.options or {}
    if token is None:
        result = "failed: the endpoint has no Authorization: Bearer header"
    else:
        try:
            report = setup_properties(token, base_url=options.get("base_url") or API_URL,
                                      id_property=options.get("id_property"))
            result = f"done: {report.summary()}"
        except SetupError as exc:
            result = f"failed: {exc.message}"
    endpoint = session.get(WebhookEndpoint, payload["endpoint_id"])
    if endpoint is not None:
        endpoint.crm_setup_result, endpoint.crm_setup_at = result[:1000], utcnow()
        session.add(endpoint)
