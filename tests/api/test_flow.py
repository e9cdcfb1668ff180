"""The first complete path over HTTP: touchpoint → survey → event → invitation → answers → response."""

from __future__ import annotations

import subprocess
import sys

from tests.factories import token_of


def _setup(client, headers):
    r = client.post("/api/v1/touchpoints", json={"key": "order_delivered", "name": "Order delivered",
                                                  "stage": "delivery", "channel": "logistics"}, headers=headers)
    assert r.status_code == 201, r.text
    r = client.post("/api/v1/surveys", headers=headers, json={
        "key": "post_delivery", "title": "Your delivery", "status": "active", "recontact_days": 30,
        "questions": [
            {"id": "csat", "type": "csat", "prompt": "How satisfied are you with the delivery?", "required": True},
            {"id": "why", "type": "text", "prompt": "Tell us more"},
            {"id": "issues", "type": "multi_choice", "prompt": "Anything wrong?", "options": ["Late", "Damaged"]},
        ],
        "triggers": [{"touchpoint": "order_delivered", "sample_rate": 1.0}],
    })
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 1


def test_event_to_stored_response_over_http(client, admin_headers):
    _setup(client, admin_headers)
    event = {"event_id": "ord-1001-delivered", "touchpoint": "order_delivered",
             "contact": {"external_id": "C-42", "crm": "hubspot", "email": "ann@example.com"},
             "attributes": {"order_id": "1001"}}
    first = client.post("/api/v1/events", json=event, headers=admin_headers)
    assert first.status_code == 202, first.text
    body = first.json()
    assert body["outcome"] == "invited" and body["reason"] is None
    url = body["invitation"]["url"]
    assert url.startswith("http://testserver/s/")

    again = client.post("/api/v1/events", json=event, headers=admin_headers)
    assert again.status_code == 202 and again.json() == body  # same answer, same link

    page = client.get(url)
    assert page.status_code == 200
    # One question per step (the default layout): the first one, and how many there are.
    assert "How satisfied are you with the delivery?" in page.text and "Question 1<" in page.text

    sent = client.post("/api/v1/responses", json={"token": token_of(url), "answers": [
        {"question_id": "csat", "value": 4}, {"question_id": "why", "value": "Quick, but the box was dented"},
        {"question_id": "issues", "value": ["Damaged"]}]})
    assert sent.status_code == 201, sent.text
    response_id = sent.json()["id"]

    got = client.get(f"/api/v1/responses/{response_id}", headers=admin_headers)
    assert got.status_code == 200
    stored = got.json()
    assert {a["question_id"]: a["value"] for a in stored["answers"]} == {
        "csat": 4, "why": "Quick, but the box was dented", "issues": ["Damaged"]}
    assert stored["contact"] == {"external_id": "C-42", "crm": "hubspot"}
    assert stored["touchpoint"] == "order_delivered" and stored["survey"] == "post_delivery"
    assert stored["scores"]["csat"] == 4

    later = client.post("/api/v1/events", headers=admin_headers, json={
        **event, "event_id": "ord-1002-delivered"})
    assert later.json() == {"event_id": "ord-1002-delivered", "outcome": "suppressed", "reason": "quarantined",
                            "survey": None, "invitation": None}
    listed = client.get("/api/v1/responses", headers=admin_headers).json()
    assert [r["id"] for r in listed["items"]] == [response_id]


def test_api_key_from_the_cli_works_over_http(client, database_url):
    out = subprocess.run([sys.executable, "-m", "voc.cli", "create-api-key", "--name", "crm",
                          "--scopes", "events:write", "surveys:read"],
                         capture_output=True, text=True, check=True, env=_env(database_url))
    key = out.stdout.strip().splitlines()[-1]
    assert key.startswith("voc_")
    ok = client.get("/api/v1/touchpoints", headers={"Authorization": f"Bearer {key}"})
    assert ok.status_code == 200 and ok.json() == []
    denied = client.get("/api/v1/responses", headers={"Authorization": f"Bearer {key}"})
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "insufficient_scope"


def _env(database_url):
    import os

    return {**os.environ, "VOC_DATABASE_URL": database_url}
