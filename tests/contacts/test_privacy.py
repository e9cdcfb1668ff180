"""A contact's data rights: a complete export, and an erasure that leaves the person nowhere (on both
backends; on SQLite not even in the database file) while the scores stay in every aggregate."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text
from sqlmodel import Session

from tests import factories as f
from tests.webhooks.receiver import Receiver
from voc.config import get_settings
from voc.db import session_scope
from voc.followups.models import Followup, FollowupNote
from voc.webhooks.models import WebhookMessage

MARKER = "Zyxqwmarker"  # a word no analyser or theme list knows
QUESTIONS = [
    {"id": "nps", "type": "nps", "prompt": "Recommend us?", "required": True},
    {"id": "why", "type": "text", "prompt": "Why?"},
    {"id": "plan", "type": "single_choice", "prompt": "Plan?", "options": ["Basic", "Plus"], "attribute": "plan"},
    {"id": "extra", "type": "text", "prompt": "Anything else?", "attribute": "note"},
]


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def customer(client, admin_headers, engine, run_jobs, receiver, monkeypatch):
    """A contact whose data reached every place it can: attributes, e-mail, events, a partial and a full
    answer, an analysis, a follow-up note, webhook messages and attempts."""
    monkeypatch.setenv("VOC_WEBHOOK_ALLOW_PRIVATE", "true")
    get_settings.cache_clear()
    hook = client.post("/api/v1/webhooks", headers=admin_headers, json={
        "url": receiver.url, "event_types": ["response.completed", "response.analyzed",
                                             "contact.experience_updated", "contact.erased"]})
    assert hook.status_code == 201, hook.text
    receiver.secrets.append(hook.json()["secret"])
    with session_scope(engine) as session:
        f.touchpoint(session)
        f.survey(session, questions=QUESTIONS)
    event = client.post("/api/v1/events", headers=admin_headers, json={
        "event_id": "evt-1", "touchpoint": "order_delivered", "attributes": {"order_note": f"gift for {MARKER}"},
        "contact": {"external_id": "crm-42", "crm": "shop", "email": f"{MARKER.lower()}@example.com",
                    "attributes": {"first_name": MARKER, "plan": "Plus", "note": f"{MARKER} VIP"}}})
    token = f.token_of(event.json()["invitation"]["url"])
    client.post(f"/s/{token}", data={"step": "nps", "q_nps": "2", "action": "next"})  # a partial answer first
    sent = client.post("/api/v1/responses", json={"token": token, "answers": [
        {"question_id": "why", "value": f"The courier {MARKER} was rude and the parcel was damaged."}]})
    assert sent.status_code == 201, sent.text
    run_jobs()
    with Session(engine) as session:
        followup = session.scalars(select(Followup)).one()
        session.add(FollowupNote(followup_id=followup.id, text=f"Called {MARKER}, no answer"))
        session.commit()
    return {"external_id": "crm-42", "crm": "shop", "response_id": sent.json()["id"]}


def _everywhere(engine, needle: str) -> list[str]:
    """Every table.column (text or JSON, any row) holding `needle`."""
    found = []
    with engine.connect() as connection:
        schema = inspect(connection)
        for table in schema.get_table_names():
            columns = [c["name"] for c in schema.get_columns(table)]
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608 - names from the schema
                found += [f"{table}.{c}" for c, v in zip(columns, row, strict=True) if needle in str(v)]
    return sorted(set(found))


def test_the_export_holds_every_stored_fact(client, admin_headers, customer):
    export = client.get("/api/v1/contacts/crm-42/export", params={"crm": "shop"}, headers=admin_headers)
    assert export.status_code == 200
    body = export.json()
    assert body["contact"]["attributes"]["first_name"] == MARKER and body["contact"]["email"].startswith("zyx")
    assert body["events"][0]["attributes"]["order_note"].endswith(MARKER)
    assert MARKER in body["responses"][0]["comment"] and body["responses"][0]["scores"]["nps"] == 2
    assert body["responses"][0]["analysis"]["sentiment"]["label"] == "negative"
    assert body["partial_responses"] and body["invitations"][0]["completed_at"]
    assert MARKER in body["followups"][0]["notes"][0]["text"]
    assert {m["event_type"] for m in body["webhook_messages"]} >= {"response.completed", "response.analyzed"}


def test_an_erasure_leaves_the_person_nowhere_and_the_scores_in_place(client, admin_headers, customer, engine,
                                                                     run_jobs, receiver, database_url):
    before = client.get("/api/v1/metrics", headers=admin_headers).json()
    assert _everywhere(engine, MARKER)  # the marker did reach the database
    erased = client.delete("/api/v1/contacts/crm-42", params={"crm": "shop"}, headers=admin_headers)
    assert erased.status_code == 200 and erased.json()["erased"] is True
    run_jobs()
    assert _everywhere(engine, MARKER) == []
    assert _everywhere(engine, MARKER.lower()) == []
    # The survey link is dead, the scores still count, the CRM heard of it.
    after = client.get("/api/v1/metrics", headers=admin_headers).json()
    assert after == before
    notice = [r for r in receiver.received if r.json["type"] == "contact.erased"]
    assert notice and notice[0].json["data"]["contact"] == {"external_id": "crm-42", "crm": "shop"}
    if database_url.startswith("sqlite"):
        path = Path(database_url.removeprefix("sqlite:///"))
        files = [p for p in (path, Path(f"{path}-wal")) if p.exists()]
        assert not any(MARKER.encode() in p.read_bytes() for p in files)
        assert not any(MARKER.lower().encode() in p.read_bytes() for p in files)


def test_erasing_twice_or_an_unknown_contact_answers_clearly(client, admin_headers, customer, make_key):
    assert client.delete("/api/v1/contacts/crm-42", params={"crm": "shop"}, headers=admin_headers).status_code == 200
    again = client.delete("/api/v1/contacts/crm-42", params={"crm": "shop"}, headers=admin_headers)
    assert again.status_code == 404 and again.json()["error"]["code"] == "contact_not_found"
    assert "erased" in again.json()["error"]["message"]
    reader = {"Authorization": f"Bearer {make_key('responses:read')}"}
    refused = client.delete("/api/v1/contacts/nobody", headers=reader)
    assert refused.status_code == 403  # erasing needs contacts:erase or admin
    eraser = {"Authorization": f"Bearer {make_key('contacts:erase')}"}
    assert client.delete("/api/v1/contacts/nobody", headers=eraser).status_code == 404


def test_an_admin_downloads_and_erases_from_the_contact_page(client, login, customer, engine, make_user):
    csrf = login("admin")
    page = client.get("/dashboard/contacts/crm-42", params={"crm": "shop"})
    assert "Download everything voc holds" in page.text and "Erase this customer" in page.text
    download = client.post("/dashboard/contact-export", data={"external_id": "crm-42", "crm": "shop",
                                                              "csrf_token": csrf})
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    assert download.json()["contact"]["attributes"]["first_name"] == MARKER
    unconfirmed = client.post("/dashboard/contact-erase", data={"external_id": "crm-42", "crm": "shop",
                                                                "csrf_token": csrf})
    assert unconfirmed.status_code == 422 and _everywhere(engine, MARKER)
    done = client.post("/dashboard/contact-erase", data={"external_id": "crm-42", "crm": "shop", "confirm": "yes",
                                                         "csrf_token": csrf})
    assert done.status_code == 200 and "Customer erased" in done.text
    assert client.get("/dashboard/contacts/crm-42", params={"crm": "shop"}).status_code == 404


def test_exports_and_erasures_are_in_the_audit_log_without_the_person(client, admin_headers, customer):
    client.get("/api/v1/contacts/crm-42/export", params={"crm": "shop"}, headers=admin_headers)
    client.delete("/api/v1/contacts/crm-42", params={"crm": "shop"}, headers=admin_headers)
    entries = client.get("/api/v1/audit", params={"object": "contact"}, headers=admin_headers).json()["items"]
    assert [e["action"] for e in entries][:2] == ["contact.erased", "contact.exported"]
    assert all("crm-42" not in str(e) and e["object_key"].startswith("sha256:") for e in entries)


def test_an_erasure_touches_no_other_customers_messages(client, admin_headers, customer, engine):
    """Messages from before order keys existed are found by the contact's id in their body: crm-42's
    erasure must leave crm-420's, whose id merely begins the same way, alone."""
    with Session(engine) as session:
        older = [WebhookMessage(msg_id=f"msg_legacy_{who}", endpoint_id=1, event_type="response.completed",
                                payload={"data": {"contact": {"external_id": who, "crm": "shop"}}})
                 for who in ("crm-42", "crm-420")]
        session.add_all(older)
        session.commit()
    assert client.delete("/api/v1/contacts/crm-42", params={"crm": "shop"}, headers=admin_headers).status_code == 200
    with Session(engine) as session:
        bodies = dict(session.execute(select(WebhookMessage.msg_id, WebhookMessage.payload)
                                      .where(WebhookMessage.msg_id.like("msg_legacy_%"))).all())
    assert bodies["msg_legacy_crm-42"] == {"erased": True}
    assert bodies["msg_legacy_crm-420"]["data"]["contact"]["external_id"] == "crm-420"
