"""Exposure: /metrics behind a bearer token, the API docs off in production, and what a viewer sees of
webhook endpoints and of the other users on the settings page."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from voc.config import get_settings

METRICS_TOKEN = "metrics-token-0123456789"  # noqa: S105 - a test value


def _client(engine, monkeypatch, **settings: str) -> TestClient:  # noqa: ANN001
    from voc.app import create_app

    for name, value in settings.items():
        monkeypatch.setenv(f"VOC_{name.upper()}", value)
    get_settings.cache_clear()
    return TestClient(create_app(engine=engine))


def test_metrics_need_the_bearer_token_when_one_is_set(engine, monkeypatch):
    with _client(engine, monkeypatch, metrics_token=METRICS_TOKEN) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": METRICS_TOKEN},
                        {"Authorization": f"Basic {METRICS_TOKEN}"}):
            refused = client.get("/metrics", headers=headers)
            assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_metrics_token"
            assert refused.headers["www-authenticate"].startswith("Bearer")
        served = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert served.status_code == 200 and "# TYPE voc_responses_total counter" in served.text


def test_metrics_are_open_outside_production_without_a_token(client):
    assert client.get("/metrics").status_code == 200


def test_in_production_metrics_are_refused_until_a_token_is_set(engine, monkeypatch):
    with _client(engine, monkeypatch, env="production") as client:
        refused = client.get("/metrics")
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "metrics_disabled"
    with _client(engine, monkeypatch, env="production", metrics_token=METRICS_TOKEN) as client:
        assert client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code == 200


@pytest.mark.parametrize(("settings", "public"), [
    ({"env": "production"}, False),
    ({"env": "production", "public_docs": "true"}, True),
    ({"env": "development"}, True),
    ({"env": "test"}, True),
])
def test_the_api_docs_are_off_in_production_unless_asked_for(engine, monkeypatch, settings, public):
    with _client(engine, monkeypatch, **settings) as client:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert client.get(path).status_code == (200 if public else 404), path
        assert client.get("/healthz").status_code == 200


# --- what a viewer sees on the settings page ------------------------------------------------------------

HOOK = "http://127.0.0.1:9/hooks/t0k3n-in-the-path?signature=s3cret-query"


@pytest.fixture
def endpoint_and_users(client, login, make_user, monkeypatch):  # noqa: ANN001, ANN201
    """An endpoint whose path, query and headers hold credentials, and two more users; signed in as admin."""
    monkeypatch.setenv("VOC_WEBHOOK_ALLOW_PRIVATE", "true")
    get_settings.cache_clear()
    csrf = login("admin")
    made = client.post("/dashboard/settings/webhooks", data={
        "url": HOOK, "event_types": ["response.completed"], "description": "CRM", "preset": "standard",
        "headers": "X-Crm-Api-Key: hunter2", "csrf_token": csrf})
    assert made.status_code == 200, made.text  # the endpoint's page, after the redirect
    others = [make_user("analyst", email="ana@example.com")[0], make_user("admin", email="boss@example.com")[0]]
    return others


def test_a_viewer_sees_endpoint_hosts_but_no_paths_queries_headers_or_other_users(client, endpoint_and_users,
                                                                                   login, engine):
    admin_page = client.get("/dashboard/settings/webhooks").text
    assert "t0k3n-in-the-path" in admin_page and "X-Crm-Api-Key" in admin_page
    assert all(email in client.get("/dashboard/settings/users").text for email in endpoint_and_users)

    client.cookies.clear()
    login("viewer")
    page = client.get("/dashboard/settings/webhooks")
    assert page.status_code == 200
    assert "http://127.0.0.1:9" in page.text
    for hidden in ("t0k3n-in-the-path", "/hooks", "s3cret-query", "signature", "X-Crm-Api-Key", "hunter2"):
        assert hidden not in page.text, hidden
    assert "1 (hidden)" in page.text  # that there are custom headers, not which
    people = client.get("/dashboard/settings/users").text
    for email in endpoint_and_users:
        assert email not in people
    assert "(you)" in people and "3 more" in people  # the admin, ana and boss
    from sqlmodel import Session, select

    from voc.webhooks.models import WebhookEndpoint

    with Session(engine) as session:
        endpoint_id = session.exec(select(WebhookEndpoint)).one().id
    log = client.get(f"/dashboard/settings?endpoint={endpoint_id}")
    assert log.status_code == 200 and "Delivery log of endpoint" in log.text
    assert "t0k3n-in-the-path" not in log.text and "s3cret-query" not in log.text


def test_an_analyst_does_not_see_them_either(client, endpoint_and_users, login):
    client.cookies.clear()
    login("analyst")
    page = client.get("/dashboard/settings/webhooks").text + client.get("/dashboard/settings/users").text
    assert "t0k3n-in-the-path" not in page and "X-Crm-Api-Key" not in page
    assert "boss@example.com" not in page
