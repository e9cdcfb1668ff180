"""Fixtures for the CRM tests: loopback allowed, a short retry schedule, the fake CRMs, and endpoints
pointing at them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlmodel import Session

from tests.crm.fakes import FakeHubSpot, FakeSalesforce
from voc.config import get_settings
from voc.webhooks import transport

TOKEN = "pat-na1-good"


@pytest.fixture(autouse=True)
def _crm_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("VOC_WEBHOOK_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("VOC_WEBHOOK_RETRY_SCHEDULE", "0.05,0.1,0.2")
    monkeypatch.setenv("VOC_WEBHOOK_TIMEOUT_SECONDS", "2")
    get_settings.cache_clear()
    yield
    transport.close_clients()


@pytest.fixture
def hubspot() -> Iterator[FakeHubSpot]:
    fake = FakeHubSpot(TOKEN).start()
    yield fake
    fake.stop()
    assert fake.violations == []


@pytest.fixture
def salesforce() -> Iterator[FakeSalesforce]:
    fake = FakeSalesforce().start()
    yield fake
    fake.stop()
    assert fake.violations == []


def save_endpoint(engine, **fields: Any) -> int:
    """Save an endpoint through the service (as the API does) and commit; returns its id."""
    from voc.webhooks.endpoints import create_endpoint
    from voc.webhooks.schemas import EndpointCreate

    with Session(engine, expire_on_commit=False) as session:
        endpoint, _ = create_endpoint(session, EndpointCreate.model_validate(fields))
        session.commit()
    return endpoint.id


@pytest.fixture
def hubspot_endpoint(engine, hubspot: FakeHubSpot) -> Callable[..., int]:
    """A hubspot-contact-properties endpoint on the fake (all voc's event types by default)."""

    def make(*, token: str = TOKEN, options: dict[str, Any] | None = None, **fields: Any) -> int:
        return save_endpoint(engine, **{
            "preset": "hubspot-contact-properties",
            "event_types": ["response.completed", "response.analyzed", "contact.experience_updated"],
            "headers": {"Authorization": f"Bearer {token}"},
            "options": {"base_url": hubspot.url, **(options or {})}, **fields})

    return make


@pytest.fixture
def salesforce_connection(engine, salesforce: FakeSalesforce) -> Callable[..., int]:
    """A Salesforce connection to the fake org; returns its id."""
    from voc.crm.connections import create_connection
    from voc.crm.schemas import ConnectionCreate

    def make(*, client_secret: str = "s3cr3t-consumer") -> int:  # noqa: S107 - the fake org's
        with Session(engine, expire_on_commit=False) as session:
            connection = create_connection(session, ConnectionCreate(
                name="Acme org", my_domain_url=salesforce.url, client_id="3MVG9-voc-test",
                client_secret=client_secret))
            session.commit()
        return connection.id

    return make
