"""Settings: API keys, webhook endpoints and users, managed by admins, shown read-only to others."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update
from sqlmodel import Session

from voc.auth.models import ApiKey, User
from voc.config import get_settings
from voc.webhooks.models import MessageStatus, WebhookEndpoint, WebhookMessage

XSS = "<script>alert(1)</script><img src=x onerror=alert(1)>"


@pytest.fixture(autouse=True)
def _loopback_webhooks(monkeypatch):
    # A closed loopback port: endpoints can be saved, nothing is sent anywhere.
    monkeypatch.setenv("VOC_WEBHOOK_ALLOW_PRIVATE", "true")
    get_settings.cache_clear()


def test_an_api_key_is_shown_once_works_and_stops_when_revoked(client, engine, login):
    csrf = login("admin")
    made = client.post("/dashboard/settings/keys", data={"name": "CRM sync", "scopes": ["surveys:read"],
                                                         "csrf_token": csrf})
    assert made.status_code == 201
    plaintext = re.search(r'id="new-key" class="secret" readonly value="(voc_[^"]+)"', made.text).group(1)
    assert "never show it again" in made.text
    api = {"Authorization": f"Bearer {plaintext}"}
    assert client.get("/api/v1/surveys", headers=api).status_code == 200
    page = client.get("/dashboard/settings")
    secret_part = plaintext.split("_", 2)[2]  # the secret may itself hold "_"
    assert "CRM sync" in page.text and plaintext not in page.text and secret_part not in page.text
    with Session(engine) as session:
        key_id = session.scalars(select(ApiKey).where(ApiKey.name == "CRM sync")).one().id
    revoked = client.post(f"/dashboard/settings/keys/{key_id}/revoke", data={"csrf_token": csrf},
                          follow_redirects=False)
    assert revoked.status_code == 303
    assert client.get("/api/v1/surveys", headers=api).status_code == 401
    assert "Revoked" in client.get("/dashboard/settings").text


def test_a_webhook_endpoint_is_created_tested_and_replayed(client, engine, login):
    csrf = login("admin")
    made = client.post("/dashboard/settings/webhooks", data={
        "url": "http://127.0.0.1:9/hooks", "event_types": ["response.completed", "followup.created"],
        "description": XSS, "preset": "standard", "headers": "X-Api-Key: hunter2-very-secret", "csrf_token": csrf})
    assert made.status_code == 201, made.text
    secret = re.search(r'value="(whsec_[^"]+)"', made.text).group(1)
    assert "hunter2-very-secret" not in made.text and "<script>alert(1)</script>" not in made.text
    with Session(engine) as session:
        endpoint = session.scalars(select(WebhookEndpoint)).one()
    page = client.get(f"/dashboard/settings?endpoint={endpoint.id}")
    assert secret not in page.text and "hunter2-very-secret" not in page.text and "X-Api-Key: ********" in page.text

    tested = client.post(f"/dashboard/settings/webhooks/{endpoint.id}/test",
                         data={"event_type": "followup.created", "csrf_token": csrf}, follow_redirects=False)
    assert tested.status_code == 303
    with Session(engine) as session:
        message = session.scalars(select(WebhookMessage)).one()
        assert message.test and message.event_type == "followup.created" and message.status == "pending"
        message_id, msg_id = message.id, message.msg_id
        session.execute(update(WebhookMessage).values(status=MessageStatus.dead, attempts=4))
        session.commit()
    log = client.get(f"/dashboard/settings?endpoint={endpoint.id}")
    assert msg_id in log.text and "Dead" in log.text and "Replay" in log.text
    replayed = client.post(f"/dashboard/settings/webhooks/{endpoint.id}/deliveries/{msg_id}/replay",
                           data={"csrf_token": csrf}, follow_redirects=False)
    assert replayed.status_code == 303
    with Session(engine) as session:
        assert session.get(WebhookMessage, message_id).status == "pending"
        session.execute(update(WebhookMessage).values(status=MessageStatus.dead))
        session.commit()
    all_dead = client.post(f"/dashboard/settings/webhooks/{endpoint.id}/replay-dead",
                           data={"since": "2000-01-01T00:00", "csrf_token": csrf})
    assert all_dead.status_code == 200 and "1 dead delivery queued again" in all_dead.text
    disabled = client.post(f"/dashboard/settings/webhooks/{endpoint.id}/enabled",
                           data={"enabled": "false", "csrf_token": csrf})
    assert "Disabled" in disabled.text
    bad = client.post("/dashboard/settings/webhooks", data={"url": "http://127.0.0.1:9/x", "csrf_token": csrf})
    assert bad.status_code == 422 and "at least one event type" in bad.text
    client.post(f"/dashboard/settings/webhooks/{endpoint.id}/delete", data={"csrf_token": csrf})
    with Session(engine) as session:
        assert session.scalars(select(WebhookEndpoint)).all() == []


def test_an_admin_creates_a_user_and_changes_the_role(client, engine, login):
    csrf = login("admin")
    made = client.post("/dashboard/settings/users", data={"email": "Nina@Example.com", "role": "viewer",
                                                          "password": "long enough pass", "csrf_token": csrf})
    assert made.status_code == 200 and "nina@example.com" in made.text
    with Session(engine) as session:
        nina = session.scalars(select(User).where(User.email == "nina@example.com")).one()
        assert nina.role == "viewer"
    client.post(f"/dashboard/settings/users/{nina.id}/role", data={"role": "analyst", "csrf_token": csrf})
    with Session(engine) as session:
        assert session.get(User, nina.id).role == "analyst"
    weak = client.post("/dashboard/settings/users", data={"email": "x@example.com", "role": "viewer",
                                                          "password": "short", "csrf_token": csrf})
    assert weak.status_code == 422 and "at least 10 characters" in weak.text


def test_a_viewer_reads_but_changes_nothing(client, engine, login, make_key):
    make_key("admin", name=XSS)
    csrf = login("viewer")
    page = client.get("/dashboard/settings")
    assert page.status_code == 200 and "only an admin can change them" in page.text
    assert "Create key" not in page.text and "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text
    for path, data in (("keys", {"name": "x", "scopes": ["admin"]}), ("keys/1/revoke", {}),
                       ("webhooks", {"url": "http://127.0.0.1:9/", "event_types": ["response.completed"]}),
                       ("users", {"email": "y@example.com", "role": "admin", "password": "long enough pass"}),
                       ("users/1/role", {"role": "admin"})):
        assert client.post(f"/dashboard/settings/{path}", data={**data, "csrf_token": csrf}).status_code == 403
    with Session(engine) as session:
        assert session.scalars(select(ApiKey)).one().revoked_at is None


def test_changes_need_the_csrf_token(client, login):
    login("admin")
    assert client.post("/dashboard/settings/keys", data={"name": "x", "scopes": ["admin"]}).status_code == 403


def test_anonymous_visitors_are_sent_to_login(client):
    answer = client.get("/dashboard/settings", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
