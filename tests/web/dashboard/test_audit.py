"""The audit log in the dashboard: changes and sign-ins recorded, the admins' page, nobody else's."""

from __future__ import annotations

import json
import re

from sqlmodel import Session, select

from tests.conftest import csrf_of
from voc import audit
from voc.audit.models import AuditEntry
from voc.auth.models import User

XSS = "<script>alert(1)</script>"


def entries(engine, action: str | None = None) -> list[AuditEntry]:
    with Session(engine) as session:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action:
            query = query.where(AuditEntry.action == action)
        return list(session.exec(query).all())


def test_a_dashboard_change_leaves_one_entry_with_the_user_address_and_both_states(client, engine, login,
                                                                                    make_user):
    csrf = login("admin")
    email, _ = make_user("viewer")
    with Session(engine) as session:
        target = session.exec(select(User).where(User.email == email)).one()
        admin = session.exec(select(User).where(User.role == "admin")).one()
    changed = client.post(f"/dashboard/settings/users/{target.id}/role", data={"role": "analyst", "csrf_token": csrf},
                          follow_redirects=False)
    assert changed.status_code == 303
    [entry] = entries(engine, "user.role_changed")
    assert (entry.actor_kind, entry.actor_id, entry.actor_label) == ("user", admin.id, admin.email)
    assert entry.address == "testclient" and entry.object_key == str(target.id)
    assert entry.before["role"] == "viewer" and entry.after["role"] == "analyst"
    assert "password" not in json.dumps([entry.before, entry.after])


def test_sign_ins_are_recorded_and_a_failed_one_without_the_password(client, engine, make_user):
    email, password = make_user("viewer")
    token = csrf_of(client.get("/login").text)
    failed = client.post("/login", data={"email": email, "password": "wrong-Pa55word!", "csrf_token": token})
    assert failed.status_code == 401
    signed_in = client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                            follow_redirects=False)
    assert signed_in.status_code == 303
    [failure, success] = entries(engine)
    assert (failure.action, failure.actor_kind, failure.actor_label, failure.object_key) == (
        "user.sign_in_failed", "anonymous", email, email)
    assert failure.address == "testclient" and failure.after["reason"] == "invalid_credentials"
    with Session(engine) as session:
        row = session.get(AuditEntry, failure.id)
        stored = json.dumps([row.actor_label, row.object_key, row.before, row.after])
    assert "wrong-Pa55word!" not in stored and password not in stored
    assert (success.action, success.actor_label) == ("user.signed_in", email)


def test_secrets_typed_in_the_dashboard_never_reach_the_log(client, engine, login, monkeypatch):
    monkeypatch.setenv("VOC_WEBHOOK_ALLOW_PRIVATE", "true")
    from voc.config import get_settings
    get_settings.cache_clear()
    csrf = login("admin")
    made = client.post("/dashboard/settings/webhooks", data={
        "url": "http://127.0.0.1:9/hook", "event_types": ["response.completed"], "preset": "standard",
        "headers": "Authorization: Bearer dash-token-321", "csrf_token": csrf})
    assert made.status_code == 200, made.text  # the endpoint's page, after the redirect
    key = client.post("/dashboard/settings/keys", data={"name": "CRM sync", "scopes": ["admin"], "csrf_token": csrf})
    assert key.status_code == 200
    logged = entries(engine)
    assert [e.action for e in logged][1:] == ["webhook.created", "api_key.created"]
    text = json.dumps([[e.before, e.after] for e in logged])
    plaintext = re.search(r'id="new-key" class="secret" readonly value="(voc_[^"]+)"', key.text).group(1)
    assert "dash-token-321" not in text and "whsec_" not in text and plaintext.split("_", 2)[2] not in text
    assert logged[2].after["name"] == "CRM sync" and "secret_hash" not in logged[2].after


def test_only_admins_see_the_page_and_the_link(client, engine, login):
    login("analyst")
    assert client.get("/dashboard/audit").status_code == 403
    assert "/dashboard/audit" not in client.get("/dashboard").text


def test_the_page_filters_pages_and_escapes(client, engine, login):
    login("admin")
    with Session(engine) as session:
        for n in range(52):
            audit.record(session, audit.Actor("user", None, XSS, "10.1.2.3"), "survey.updated", "survey", f"s{n}",
                         after={"title": XSS})
        session.commit()
    first = client.get("/dashboard/audit", params={"action": "survey"})
    assert first.status_code == 200
    assert "/dashboard/audit" in client.get("/dashboard").text  # the nav link, for admins
    assert XSS not in first.text and "&lt;script&gt;" in first.text
    assert first.text.count("<tr>") == 51  # a header row and 50 entries
    older = client.get(first.text.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&"))
    assert older.status_code == 200 and older.text.count("<tr>") == 3 and 'rel="next"' not in older.text
    assert ">s1<" in older.text and ">s0<" in older.text
    assert client.get("/dashboard/audit", params={"object": "site"}).text.count("<tr>") == 0
    assert client.get("/dashboard/audit", params={"from": "2999-01-01"}).text.count("<tr>") == 0
