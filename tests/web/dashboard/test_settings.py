"""Settings: one page per section (API keys, webhooks and CRM, users, sites), managed by admins and shown
read-only to others; every change answers 303 to a page, a new secret shows there once and never again."""

from __future__ import annotations

import base64
import re
from urllib.parse import unquote, urlsplit

import pytest
from sqlalchemy import select, update
from sqlmodel import Session

from voc.auth.models import ApiKey, User
from voc.config import get_settings
from voc.embed.models import Site
from voc.webhooks.models import MessageStatus, WebhookEndpoint, WebhookMessage

XSS = "<script>alert(1)</script><img src=x onerror=alert(1)>"
SECTIONS = {"/dashboard/settings/keys": "API keys", "/dashboard/settings/webhooks": "Webhooks and CRM",
            "/dashboard/settings/users": "Users", "/dashboard/settings/sites": "Sites"}


@pytest.fixture(autouse=True)
def _loopback_webhooks(monkeypatch):
    # A closed loopback port: endpoints can be saved, nothing is sent anywhere.
    monkeypatch.setenv("VOC_WEBHOOK_ALLOW_PRIVATE", "true")
    get_settings.cache_clear()


def _redirected(answer, path: str) -> None:
    """A change answered 303 to the page at `path` (a GET page that shows)."""
    assert answer.status_code == 303, answer.text
    assert urlsplit(answer.headers["location"]).path == path, answer.headers["location"]


def _session_of(client) -> str:
    """What the signed (not encrypted) session cookie holds, readable by anyone who has it."""
    payload = client.cookies.get("voc_session").split(".")[0]
    return base64.b64decode(payload + "=" * (-len(payload) % 4)).decode()


def secret_part(plaintext: str) -> str:
    return plaintext.split("_", 2)[2]  # the secret may itself hold "_"


def _endpoint(engine) -> WebhookEndpoint:
    with Session(engine) as session:
        return session.scalars(select(WebhookEndpoint)).one()


def _make_endpoint(client, csrf, **fields) -> int:
    made = client.post("/dashboard/settings/webhooks", data={
        "url": "http://127.0.0.1:9/hooks", "event_types": ["response.completed", "followup.created"],
        "preset": "standard", "csrf_token": csrf, **fields}, follow_redirects=False)
    assert made.status_code == 303, made.text
    return int(urlsplit(made.headers["location"]).path.rsplit("/", 1)[1])


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_each_settings_page_shows_and_links_to_the_others(client, login, role):
    login(role)
    first = client.get("/dashboard/settings", follow_redirects=False)
    _redirected(first, "/dashboard/settings/keys")
    for path, label in SECTIONS.items():
        page = client.get(path)
        assert page.status_code == 200, path
        assert f"<title>{label} · Settings · voc</title>" in page.text
        assert f'<a href="{path}" aria-current="page">{label}</a>' in page.text
        for other, other_label in SECTIONS.items():
            assert f'href="{other}"' in page.text and other_label in page.text
        assert '/dashboard/settings" aria-current="true"' in page.text  # the top bar marks Settings


def test_an_api_key_is_shown_once_works_and_stops_when_revoked(client, engine, login):
    csrf = login("admin")
    made = client.post("/dashboard/settings/keys", data={"name": "CRM sync", "scopes": ["surveys:read"],
                                                         "csrf_token": csrf}, follow_redirects=False)
    _redirected(made, "/dashboard/settings/keys")
    assert "voc_" not in unquote(made.headers["location"])
    carried = _session_of(client)  # the flash travels in the session cookie
    page = client.get(made.headers["location"])
    plaintext = re.search(r'id="new-key" class="secret" readonly value="(voc_[^"]+)"', page.text).group(1)
    assert page.text.count(plaintext) == 1 and "never show it again" in page.text
    assert "The API key was created." in page.text
    assert "flash" in carried and plaintext not in carried and secret_part(plaintext) not in carried  # sealed
    api = {"Authorization": f"Bearer {plaintext}"}
    assert client.get("/api/v1/surveys", headers=api).status_code == 200

    again = client.get("/dashboard/settings/keys")  # a reload: the key is gone for good
    assert "CRM sync" in again.text and plaintext not in again.text and secret_part(plaintext) not in again.text
    assert "flash" not in _session_of(client)
    assert "The API key was created." not in again.text
    with Session(engine) as session:
        key_id = session.scalars(select(ApiKey).where(ApiKey.name == "CRM sync")).one().id
    revoked = client.post(f"/dashboard/settings/keys/{key_id}/revoke", data={"csrf_token": csrf},
                          follow_redirects=False)
    _redirected(revoked, "/dashboard/settings/keys")
    assert client.get("/api/v1/surveys", headers=api).status_code == 401
    shown = client.get("/dashboard/settings/keys").text
    assert "Revoked" in shown and "The API key was revoked" in shown
    assert "The API key was revoked" not in client.get("/dashboard/settings/keys").text


def test_a_refused_key_shows_the_form_again_with_the_reason(client, login):
    csrf = login("admin")
    refused = client.post("/dashboard/settings/keys", data={"name": "  ", "csrf_token": csrf})
    assert refused.status_code == 422 and "give the key a name" in refused.text
    assert "Nothing was changed" in refused.text


def test_a_webhook_endpoint_is_created_tested_and_replayed(client, engine, login):
    csrf = login("admin")
    made = client.post("/dashboard/settings/webhooks", data={
        "url": "http://127.0.0.1:9/hooks", "event_types": ["response.completed", "followup.created"],
        "description": XSS, "preset": "standard", "headers": "X-Api-Key: hunter2-very-secret", "csrf_token": csrf},
        follow_redirects=False)
    endpoint = _endpoint(engine)
    _redirected(made, f"/dashboard/settings/webhooks/{endpoint.id}")
    assert "whsec_" not in unquote(made.headers["location"])
    shown = client.get(made.headers["location"])
    secret = re.search(r'id="new-secret" class="secret" readonly value="(whsec_[^"]+)"', shown.text).group(1)
    assert shown.text.count(secret) == 1 and "Send test event" in shown.text
    assert "hunter2-very-secret" not in shown.text and "<script>alert(1)</script>" not in shown.text
    page = client.get(f"/dashboard/settings/webhooks/{endpoint.id}")
    assert secret not in page.text and "hunter2-very-secret" not in page.text and "X-Api-Key: ********" in page.text
    listed = client.get("/dashboard/settings/webhooks").text
    assert f'/dashboard/settings/webhooks/{endpoint.id}"' in listed and "X-Api-Key: ********" in listed

    tested = client.post(f"/dashboard/settings/webhooks/{endpoint.id}/test",
                         data={"event_type": "followup.created", "csrf_token": csrf}, follow_redirects=False)
    _redirected(tested, f"/dashboard/settings/webhooks/{endpoint.id}")
    with Session(engine) as session:
        message = session.scalars(select(WebhookMessage)).one()
        assert message.test and message.event_type == "followup.created" and message.status == "pending"
        message_id, msg_id = message.id, message.msg_id
        session.execute(update(WebhookMessage).values(status=MessageStatus.dead, attempts=4))
        session.commit()
    log = client.get(f"/dashboard/settings/webhooks/{endpoint.id}")
    assert msg_id in log.text and "Dead" in log.text and "Replay" in log.text
    replayed = client.post(f"/dashboard/settings/webhooks/{endpoint.id}/deliveries/{msg_id}/replay",
                           data={"csrf_token": csrf}, follow_redirects=False)
    _redirected(replayed, f"/dashboard/settings/webhooks/{endpoint.id}")
    with Session(engine) as session:
        assert session.get(WebhookMessage, message_id).status == "pending"
        session.execute(update(WebhookMessage).values(status=MessageStatus.dead))
        session.commit()
    all_dead = client.post(f"/dashboard/settings/webhooks/{endpoint.id}/replay-dead",
                           data={"since": "2000-01-01T00:00", "csrf_token": csrf})
    assert all_dead.status_code == 200 and "1 dead delivery queued again" in all_dead.text
    disabled = client.post(f"/dashboard/settings/webhooks/{endpoint.id}/enabled",
                           data={"enabled": "false", "csrf_token": csrf})
    assert "Disabled" in disabled.text and "The endpoint is disabled" in disabled.text
    bad = client.post("/dashboard/settings/webhooks", data={"url": "http://127.0.0.1:9/x", "csrf_token": csrf})
    assert bad.status_code == 422 and "at least one event type" in bad.text
    deleted = client.post(f"/dashboard/settings/webhooks/{endpoint.id}/delete", data={"csrf_token": csrf},
                          follow_redirects=False)
    _redirected(deleted, "/dashboard/settings/webhooks")
    with Session(engine) as session:
        assert session.scalars(select(WebhookEndpoint)).all() == []


def test_the_old_address_of_a_delivery_log_leads_to_the_endpoint_page(client, login):
    csrf = login("admin")
    endpoint_id = _make_endpoint(client, csrf)
    _redirected(client.get(f"/dashboard/settings?endpoint={endpoint_id}", follow_redirects=False),
                f"/dashboard/settings/webhooks/{endpoint_id}")
    for beyond in ("99999999999", "abc", "²"):
        _redirected(client.get("/dashboard/settings", params={"endpoint": beyond}, follow_redirects=False),
                    "/dashboard/settings/webhooks")
    assert client.get("/dashboard/settings/webhooks/424242").status_code == 404


def test_the_delivery_log_asks_again_while_a_delivery_is_pending_and_stops_when_none_is(client, engine, login):
    csrf = login("admin")
    endpoint_id = _make_endpoint(client, csrf)
    path = f"/dashboard/settings/webhooks/{endpoint_id}"
    htmx = {"HX-Request": "true"}
    quiet = client.get(path, headers=htmx)
    assert quiet.status_code == 200 and "Nothing sent to this endpoint yet" in quiet.text
    assert "hx-trigger" not in quiet.text

    client.post(f"{path}/test", data={"event_type": "response.completed", "csrf_token": csrf})
    whole = client.get(path)
    assert 'hx-trigger="every 2s"' in whole.text and f'{path}" hx-trigger' in whole.text
    partial = client.get(path, headers=htmx)
    assert partial.text.lstrip().startswith('<section id="deliveries"')  # the log alone, not the page
    assert "<html" not in partial.text and 'hx-trigger="every 2s"' in partial.text and "Pending" in partial.text

    with Session(engine) as session:
        session.execute(update(WebhookMessage).values(status=MessageStatus.delivered, attempts=1))
        session.commit()
    settled = client.get(path, headers=htmx)
    assert "Delivered" in settled.text and "hx-trigger" not in settled.text and "hx-get" not in settled.text


def test_an_admin_creates_a_user_and_changes_the_role(client, engine, login):
    csrf = login("admin")
    made = client.post("/dashboard/settings/users", data={"email": "Nina@Example.com", "role": "viewer",
                                                          "password": "long enough pass", "csrf_token": csrf},
                       follow_redirects=False)
    _redirected(made, "/dashboard/settings/users")
    page = client.get(made.headers["location"])
    assert "nina@example.com" in page.text and "The user was created." in page.text
    with Session(engine) as session:
        nina = session.scalars(select(User).where(User.email == "nina@example.com")).one()
        assert nina.role == "viewer"
    changed = client.post(f"/dashboard/settings/users/{nina.id}/role", data={"role": "analyst", "csrf_token": csrf},
                          follow_redirects=False)
    _redirected(changed, "/dashboard/settings/users")
    with Session(engine) as session:
        assert session.get(User, nina.id).role == "analyst"
    for action, data in (("disabled", {"disabled": "true"}), ("disabled", {"disabled": "false"}), ("delete", {})):
        answer = client.post(f"/dashboard/settings/users/{nina.id}/{action}", data={**data, "csrf_token": csrf},
                             follow_redirects=False)
        _redirected(answer, "/dashboard/settings/users")
    weak = client.post("/dashboard/settings/users", data={"email": "x@example.com", "role": "viewer",
                                                          "password": "short", "csrf_token": csrf})
    assert weak.status_code == 422 and "at least 10 characters" in weak.text


def test_a_site_is_made_with_its_secret_shown_once_then_changed_rotated_and_deleted(client, engine, login):
    csrf = login("admin")
    made = client.post("/dashboard/settings/sites", data={
        "key": "shop", "name": "Web shop", "origins": "https://shop.example.com\nhttps://www.shop.example.com/",
        "csrf_token": csrf}, follow_redirects=False)
    _redirected(made, "/dashboard/settings/sites")
    assert "vocsite_" not in unquote(made.headers["location"])
    page = client.get(made.headers["location"]).text
    secret = re.search(r'id="new-site-secret" class="secret" readonly value="(vocsite_[^"]+)"', page).group(1)
    assert page.count(secret) == 1 and "https://www.shop.example.com" in page
    assert secret not in client.get("/dashboard/settings/sites").text

    changed = client.post("/dashboard/settings/sites/shop", data={
        "name": "Web shop (EU)", "origins": "https://eu.shop.example.com", "csrf_token": csrf}, follow_redirects=False)
    _redirected(changed, "/dashboard/settings/sites")
    with Session(engine) as session:
        site = session.scalars(select(Site)).one()
        assert site.name == "Web shop (EU)" and site.allowed_origins == ["https://eu.shop.example.com"]
    bad = client.post("/dashboard/settings/sites/shop", data={"name": "x", "origins": "https://a.example.com/path",
                                                               "csrf_token": csrf})
    assert bad.status_code == 422 and "is not an origin" in bad.text

    rotated = client.post("/dashboard/settings/sites/shop/rotate-secret", data={"csrf_token": csrf},
                          follow_redirects=False)
    _redirected(rotated, "/dashboard/settings/sites")
    fresh = re.search(r'id="new-site-secret" class="secret" readonly value="(vocsite_[^"]+)"',
                      client.get("/dashboard/settings/sites").text).group(1)
    assert fresh != secret
    deleted = client.post("/dashboard/settings/sites/shop/delete", data={"csrf_token": csrf}, follow_redirects=False)
    _redirected(deleted, "/dashboard/settings/sites")
    with Session(engine) as session:
        assert session.scalars(select(Site)).all() == []
    assert client.post("/dashboard/settings/sites/shop/delete", data={"csrf_token": csrf}).status_code == 404


def test_a_viewer_reads_but_changes_nothing(client, engine, login, make_key):
    make_key("admin", name=XSS)
    csrf = login("viewer")
    page = client.get("/dashboard/settings")
    assert page.status_code == 200 and "only an admin can change them" in page.text
    assert "Create key" not in page.text and "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text
    assert "Create site" not in client.get("/dashboard/settings/sites").text
    for path, data in (("keys", {"name": "x", "scopes": ["admin"]}), ("keys/1/revoke", {}),
                       ("webhooks", {"url": "http://127.0.0.1:9/", "event_types": ["response.completed"]}),
                       ("users", {"email": "y@example.com", "role": "admin", "password": "long enough pass"}),
                       ("users/1/role", {"role": "admin"}),
                       ("sites", {"key": "shop", "name": "Shop", "origins": "https://shop.example.com"})):
        refused = client.post(f"/dashboard/settings/{path}", data={**data, "csrf_token": csrf})
        assert refused.status_code == 403 and "text/html" in refused.headers["content-type"], path
    with Session(engine) as session:
        assert session.scalars(select(ApiKey)).one().revoked_at is None
        assert session.scalars(select(Site)).all() == []


def test_changes_need_the_csrf_token(client, login):
    login("admin")
    assert client.post("/dashboard/settings/keys", data={"name": "x", "scopes": ["admin"]}).status_code == 403
    assert client.post("/dashboard/settings/sites", data={"key": "x", "name": "x", "origins": ""}).status_code == 403


def test_anonymous_visitors_are_sent_to_login(client):
    for path in ("/dashboard/settings", *SECTIONS, "/dashboard/settings/webhooks/1"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login"), path
