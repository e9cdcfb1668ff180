"""A Python client generated from the served OpenAPI document (openapi-python-client) reads voc's errors: a
refused call comes back parsed, with its stable code, against the real server process."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session

from tests.crowds.server import voc_serve
from voc.auth.service import create_api_key
from voc.db import make_engine

pytestmark = pytest.mark.slow
PACKAGE = "voc_generated_client"


def _generate(document: bytes, into: Path) -> None:
    schema, config = into / "openapi.json", into / "openapi-python-client.yaml"
    schema.write_bytes(document)
    config.write_text("post_hooks: []\n")  # no formatter run: nothing to find on PATH, nothing to download
    done = subprocess.run([sys.executable, "-m", "openapi_python_client", "generate", "--path", str(schema),
                           "--output-path", str(into / PACKAGE), "--meta", "none", "--config", str(config),
                           "--fail-on-warning"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def served(tmp_path: Path, sqlite_template: Path):
    """`voc serve` on a SQLite file of its own, and an admin key for it."""
    path = tmp_path / "voc.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    with Session(engine) as session:
        _, key = create_api_key(session, "generated client", ["admin"])
        session.commit()
    engine.dispose()
    with voc_serve(url, str(tmp_path), "--no-worker") as server:
        yield server, key


@pytest.fixture
def generated_client(served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    server, _ = served
    _generate(httpx.get(f"{server.base}/openapi.json", timeout=30).content, tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield importlib.import_module(PACKAGE)
    for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]


def test_a_generated_client_reads_the_error_code_of_a_refused_call(served, generated_client):
    server, key = served
    events = importlib.import_module(f"{PACKAGE}.api.events.post_event_api_v1_events_post")
    touchpoints = importlib.import_module(f"{PACKAGE}.api.surveys.create_touchpoint_api_v1_touchpoints_post")
    models = importlib.import_module(f"{PACKAGE}.models")
    event = models.EventIn.from_dict({"event_id": "ord-1001-delivered", "touchpoint": "order_delivered",
                                      "contact": {"external_id": "CUS-00042"}})
    with generated_client.AuthenticatedClient(base_url=server.base, token=key) as client:
        refused = events.sync_detailed(client=client, body=event)
        assert refused.status_code == 422
        assert isinstance(refused.parsed, models.ErrorBody)
        assert refused.parsed.error.code == "touchpoint_not_found"
        assert refused.parsed.error.details == [{"path": ["touchpoint"], "message": "unknown touchpoint"}]

        # Once the touchpoint exists the same call is accepted, and parsed as the outcome.
        created = touchpoints.sync_detailed(client=client, body=models.TouchpointCreate.from_dict(
            {"key": "order_delivered", "name": "Order delivered", "stage": "delivery"}))
        assert created.status_code == 201 and isinstance(created.parsed, models.TouchpointPublic)
        accepted = events.sync_detailed(client=client, body=event)
        assert accepted.status_code == 202 and isinstance(accepted.parsed, models.EventOutcome)
        assert accepted.parsed.outcome.value == "suppressed" and accepted.parsed.reason == "no_active_survey"

    with generated_client.Client(base_url=server.base) as anonymous:  # no key: 401, parsed the same way
        unauthorized = events.sync(client=anonymous, body=event)  # type: ignore[arg-type]
        assert isinstance(unauthorized, models.ErrorBody) and unauthorized.error.code == "unauthorized"
