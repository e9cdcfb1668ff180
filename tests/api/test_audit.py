"""GET /api/v1/audit, and the entries API changes leave: actor, address, before and after, never a secret."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from tests import factories
from tests.routes import every_route
from voc import audit
from voc.audit.models import AuditEntry
from voc.config import get_settings
from voc.errors import Conflict


@pytest.fixture(autouse=True)
def _loopback_webhooks(monkeypatch):
    monkeypatch.setenv("VOC_WEBHOOK_ALLOW_PRIVATE", "true")  # a closed loopback port: nothing is sent
    get_settings.cache_clear()


@pytest.fixture
def survey(engine):
    with Session(engine) as session:
        factories.touchpoint(session)
        factories.survey(session)
        session.commit()


def entries(engine) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEntry).order_by(AuditEntry.id)).all())


def test_a_survey_change_leaves_one_entry_with_the_key_address_and_both_states(client, engine, make_key, survey):
    key = make_key("surveys:write", name="crm-sync")
    changed = client.patch("/api/v1/surveys/post_delivery", json={"title": "How was your delivery?"},
                           headers={"Authorization": f"Bearer {key}"})
    assert changed.status_code == 200, changed.text
    [entry] = entries(engine)
    assert (entry.actor_kind, entry.actor_label, entry.action, entry.object_kind, entry.object_key) == (
        "api_key", "crm-sync", "survey.updated", "survey", "post_delivery")
    assert entry.actor_id is not None and entry.address == "testclient"  # the TestClient's client host
    assert entry.before["title"] == "How did we do?" and entry.after["title"] == "How was your delivery?"


def test_webhook_secrets_and_header_values_never_reach_the_log(client, engine, admin_headers):
    made = client.post("/api/v1/webhooks", headers=admin_headers, json={
        "url": "http://127.0.0.1:9/hook", "event_types": ["response.completed"], "description": "CRM",
        "headers": {"Authorization": "Bearer crm-token-123", "X-Api-Key": "hdr-secret-456"}})
    assert made.status_code == 201, made.text
    endpoint_id, secret = made.json()["id"], made.json()["secret"]
    patched = client.patch(f"/api/v1/webhooks/{endpoint_id}", headers=admin_headers,
                           json={"headers": {"Authorization": "Bearer crm-token-789"}})
    assert patched.status_code == 200, patched.text
    rotated = client.post(f"/api/v1/webhooks/{endpoint_id}/rotate-secret", headers=admin_headers)
    assert rotated.status_code == 200, rotated.text
    logged = entries(engine)
    assert [e.action for e in logged] == ["webhook.created", "webhook.updated", "webhook.secret_rotated"]
    assert logged[0].after["headers"] == ["Authorization", "X-Api-Key"]
    text = json.dumps([[e.before, e.after] for e in logged])
    listed = client.get("/api/v1/audit", headers=admin_headers).text
    for credential in ("crm-token-123", "hdr-secret-456", "crm-token-789", secret, rotated.json()["secret"],
                       secret.removeprefix("whsec_")):
        assert credential not in text and credential not in listed


def test_a_change_that_fails_after_recording_leaves_no_entry(client, engine, admin_headers, survey, monkeypatch):
    real = audit.record

    def record_then_fail(*args, **kwargs):
        real(*args, **kwargs)
        raise Conflict("the change failed after it was recorded", code="test_failure")

    monkeypatch.setattr(audit, "record", record_then_fail)
    failed = client.patch("/api/v1/surveys/post_delivery", json={"title": "Never saved"}, headers=admin_headers)
    assert failed.status_code == 409
    assert entries(engine) == []
    assert client.get("/api/v1/surveys/post_delivery", headers=admin_headers).json()["title"] == "How did we do?"


def test_the_log_needs_the_admin_scope_and_pages_with_next_cursor(client, engine, make_key, admin_headers):
    assert client.get("/api/v1/audit", headers={"Authorization": f"Bearer {make_key('surveys:write')}"}
                      ).status_code == 403
    assert client.get("/api/v1/audit").status_code == 401
    for n in range(3):
        assert client.post("/api/v1/touchpoints", headers=admin_headers,
                           json={"key": f"tp_{n}", "name": f"TP {n}", "stage": "delivery"}).status_code == 201
    first = client.get("/api/v1/audit", params={"limit": 2}, headers=admin_headers).json()
    assert [e["object_key"] for e in first["items"]] == ["tp_2", "tp_1"] and first["next_cursor"]
    second = client.get("/api/v1/audit", params={"limit": 2, "cursor": first["next_cursor"]},
                        headers=admin_headers).json()
    assert [e["object_key"] for e in second["items"]] == ["tp_0"] and second["next_cursor"] is None
    filtered = client.get("/api/v1/audit", params={"object": "touchpoint:tp_1", "action": "touchpoint"},
                          headers=admin_headers).json()
    assert [e["action"] for e in filtered["items"]] == ["touchpoint.created"]
    assert filtered["items"][0]["actor_kind"] == "api_key"
    assert client.get("/api/v1/audit", params={"cursor": "nonsense"}, headers=admin_headers).json()[
        "error"]["code"] == "invalid_cursor"
    assert client.get("/api/v1/audit", params={"from": "2999-01-01T00:00:00Z"},
                      headers=admin_headers).json()["items"] == []


def test_no_route_changes_or_deletes_entries(app):
    audit = [(path, methods) for path, methods in every_route(app)
             if path.startswith(("/api/v1/audit", "/dashboard/audit"))]
    assert {path for path, _ in audit} >= {"/api/v1/audit", "/dashboard/audit"}  # the routes were found
    assert {m for _, methods in audit for m in methods} <= {"GET", "HEAD"}
