"""Fixtures for webhook tests: loopback receivers allowed, a short retry schedule, a real receiver,
an endpoint pointing at it, and a worker running in the background."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlmodel import Session

from tests.webhooks.receiver import Receiver
from voc.config import get_settings
from voc.webhooks import transport

SHORT_SCHEDULE = "0.05,0.1,0.2"


@pytest.fixture(autouse=True)
def _webhook_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("VOC_WEBHOOK_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("VOC_WEBHOOK_RETRY_SCHEDULE", SHORT_SCHEDULE)
    monkeypatch.setenv("VOC_WEBHOOK_TIMEOUT_SECONDS", "2")
    get_settings.cache_clear()
    yield
    transport.close_clients()


def set_env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    """Change settings in the middle of a test."""
    for name, value in values.items():
        monkeypatch.setenv(f"VOC_{name.upper()}", value)
    get_settings.cache_clear()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def make_endpoint(engine, receiver: Receiver) -> Callable[..., tuple[int, str]]:
    """Save an endpoint for the receiver (all event types by default); returns its id and secret."""
    from voc.webhooks.endpoints import create_endpoint
    from voc.webhooks.samples import EVENT_TYPES
    from voc.webhooks.schemas import EndpointCreate

    def make(**fields: Any) -> tuple[int, str]:
        body = EndpointCreate.model_validate({"url": receiver.url, "event_types": list(EVENT_TYPES), **fields})
        with Session(engine, expire_on_commit=False) as session:
            endpoint, secret = create_endpoint(session, body)
            session.commit()
        receiver.secrets.append(secret)
        return endpoint.id, secret

    return make


@pytest.fixture
def background_worker(engine) -> Iterator[Callable[[], threading.Thread]]:
    """Start a worker thread on demand; it is stopped at the end of the test."""
    from voc.jobs.worker import Worker

    workers: list[Worker] = []

    def start() -> threading.Thread:
        worker = Worker(engine)
        workers.append(worker)
        return worker.start_thread()

    yield start
    for worker in workers:
        worker.stop()
