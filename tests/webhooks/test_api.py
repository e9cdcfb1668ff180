"""The webhooks API: endpoints, secrets shown once, refusals with reasons, deliveries and replay."""

from __future__ import annotations

import base64
from datetime import timedelta

from tests.webhooks.conftest import set_env
from tests.webhooks.helpers import answer_with, drain
from voc.db import utcnow


def create(client, auth, receiver, **fields):
    body = {"url": receiver.url, "event_types": ["response.completed"], "description": "CRM", **fields}
    return client.post("/api/v1/webhooks", json=body, headers=auth)


def test_create_shows_the_secret_once_and_masks_header_values(client, admin_headers, receiver):
    created = create(client, admin_headers, receiver, headers={"Authorization": "Bearer crm-token"},
                     preset="hubspot-contact-properties")
    assert created.status_code == 201, created.text
    body = created.json()
    secret = body["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    assert body["headers"] == {"Authorization": "********"} and body["enabled"] is True
    assert body["preset"] == "hubspot-contact-properties"

    listed = client.get("/api/v1/webhooks", headers=admin_headers)
    assert listed.status_code == 200
    assert "secret" not in listed.json()[0] and "crm-token" not in listed.text and secret not in listed.text
    one = client.get(f"/api/v1/webhooks/{body['id']}", headers=admin_headers).json()
    assert "secret" not in one and one["url"] == receiver.url


def test_refusals_are_4xx_with_the_reason(client, admin_headers, receiver, monkeypatch):
    bad_template = create(client, admin_headers, receiver, template='{"id": {{ data.response.id }}}')
    assert bad_template.status_code == 422
    assert bad_template.json()["error"]["code"] == "invalid_payload_template"
    assert "not valid JSON" in bad_template.json()["error"]["message"]

    unknown_preset = create(client, admin_headers, receiver, preset="zapier")
    assert unknown_preset.status_code == 422 and unknown_preset.json()["error"]["code"] == "unknown_payload_preset"
    unknown_event = create(client, admin_headers, receiver, event_types=["order.shipped"])
    assert unknown_event.status_code == 422 and "unknown event types" in unknown_event.json()["error"]["message"]
    reserved = create(client, admin_headers, receiver, headers={"webhook-signature": "x"})
    assert reserved.status_code == 422

    metadata = create(client, admin_headers, receiver, url="http://169.254.169.254/latest/meta-data")
    assert metadata.status_code == 422 and metadata.json()["error"]["code"] == "url_private_address"
    ftp = create(client, admin_headers, receiver, url="ftp://crm.example.com/hook")
    assert ftp.status_code == 422 and ftp.json()["error"]["code"] == "url_scheme_not_allowed"

    set_env(monkeypatch, webhook_allow_private="false")
    loopback = create(client, admin_headers, receiver)
    assert loopback.status_code == 422 and loopback.json()["error"] == {
        "code": "url_private_address", "message": "127.0.0.1 is a loopback address"}
    private = create(client, admin_headers, receiver, url="https://10.1.2.3/hook")
    assert private.status_code == 422 and "private address" in private.json()["error"]["message"]


def test_writes_and_reads_need_the_webhooks_scope(client, make_key, receiver):
    reader = {"Authorization": f"Bearer {make_key('responses:read')}"}
    assert create(client, reader, receiver).status_code == 403
    assert client.get("/api/v1/webhooks", headers=reader).status_code == 403
    writer = {"Authorization": f"Bearer {make_key('webhooks:write')}"}
    assert create(client, writer, receiver).status_code == 201
    assert client.get("/api/v1/webhooks").status_code == 401


def test_patch_rechecks_and_merges_headers_and_delete_removes(client, admin_headers, receiver):
    created = create(client, admin_headers, receiver, headers={"X-Api-Key": "k1", "X-Tenant": "t"}).json()
    url = f"/api/v1/webhooks/{created['id']}"
    patched = client.patch(url, headers=admin_headers, json={
        "event_types": ["response.completed", "contact.experience_updated"], "headers": {"X-Tenant": None},
        "description": "HubSpot sync"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["headers"] == {"X-Api-Key": "********"}
    assert patched.json()["event_types"] == ["response.completed", "contact.experience_updated"]
    bad = client.patch(url, headers=admin_headers, json={"template": "{{ nope"})
    assert bad.status_code == 422 and "syntax error" in bad.json()["error"]["message"]
    assert client.patch(url, headers=admin_headers, json={"url": None}).status_code == 422

    off = client.patch(url, headers=admin_headers, json={"enabled": False}).json()
    assert off["enabled"] is False and off["disabled_reason"] == "disabled through the API"
    on = client.patch(url, headers=admin_headers, json={"enabled": True}).json()
    assert on["enabled"] is True and on["disabled_reason"] is None

    assert client.delete(url, headers=admin_headers).status_code == 204
    gone = client.get(url, headers=admin_headers)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "webhook_not_found"


def test_rotate_secret_returns_a_new_secret_and_the_grace_period(client, admin_headers, receiver):
    created = create(client, admin_headers, receiver).json()
    rotated = client.post(f"/api/v1/webhooks/{created['id']}/rotate-secret", headers=admin_headers,
                          json={"grace_hours": 2})
    assert rotated.status_code == 200
    body = rotated.json()
    assert body["secret"].startswith("whsec_") and body["secret"] != created["secret"]
    assert body["previous_secret_expires_at"] is not None
    default = client.post(f"/api/v1/webhooks/{created['id']}/rotate-secret", headers=admin_headers)
    assert default.status_code == 200


def test_test_event_deliveries_filters_and_replay(client, admin_headers, receiver, engine):
    receiver.responder = answer_with(400, 200)
    created = create(client, admin_headers, receiver).json()
    receiver.secrets.append(created["secret"])
    base = f"/api/v1/webhooks/{created['id']}"

    sent = client.post(f"{base}/test", headers=admin_headers, json={"event_type": "contact.experience_updated"})
    assert sent.status_code == 202 and sent.json()["status"] == "pending" and sent.json()["test"] is True
    delivery_id = sent.json()["id"]
    drain(engine)
    assert receiver.received[0].msg_id == delivery_id
    assert receiver.received[0].json["type"] == "contact.experience_updated"

    dead = client.get(f"{base}/deliveries", headers=admin_headers, params={"status": "dead"}).json()
    assert [d["id"] for d in dead["items"]] == [delivery_id]
    [attempt] = dead["items"][0]["attempts"]
    assert attempt["status_code"] == 400 and attempt["response_snippet"] == '{"status":400}'
    assert client.get(f"{base}/deliveries", headers=admin_headers,
                      params={"status": "delivered"}).json()["items"] == []
    assert client.get(f"{base}/deliveries", headers=admin_headers, params={"status": "bogus"}).status_code == 422

    replayed = client.post(f"{base}/deliveries/{delivery_id}/replay", headers=admin_headers)
    assert replayed.status_code == 202 and replayed.json()["status"] == "pending"
    again = client.post(f"{base}/deliveries/{delivery_id}/replay", headers=admin_headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "delivery_in_progress"
    drain(engine)
    got = client.get(f"{base}/deliveries/{delivery_id}", headers=admin_headers).json()
    assert got["status"] == "delivered" and [a["status_code"] for a in got["attempts"]] == [400, 200]
    assert [r.msg_id for r in receiver.received] == [delivery_id, delivery_id]
    missing = client.post(f"{base}/deliveries/msg_nope/replay", headers=admin_headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "delivery_not_found"


def test_replay_all_dead_since_a_time_and_cursor_pages(client, admin_headers, receiver, engine):
    receiver.responder = answer_with(400, 400, 400, 200)
    created = create(client, admin_headers, receiver).json()
    receiver.secrets.append(created["secret"])
    base = f"/api/v1/webhooks/{created['id']}"
    before = utcnow() - timedelta(seconds=1)
    ids = [client.post(f"{base}/test", headers=admin_headers).json()["id"] for _ in range(3)]
    drain(engine)

    page = client.get(f"{base}/deliveries", headers=admin_headers, params={"limit": 2}).json()
    assert [d["id"] for d in page["items"]] == ids[:0:-1] and page["next_cursor"]
    rest = client.get(f"{base}/deliveries", headers=admin_headers,
                      params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [d["id"] for d in rest["items"]] == ids[:1] and rest["next_cursor"] is None

    future = client.post(f"{base}/deliveries/replay-dead", headers=admin_headers,
                         json={"since": (utcnow() + timedelta(hours=1)).isoformat()})
    assert future.json() == {"replayed": 0, "deliveries": []}
    replayed = client.post(f"{base}/deliveries/replay-dead", headers=admin_headers,
                           json={"since": before.isoformat()})
    assert replayed.status_code == 202 and replayed.json() == {"replayed": 3, "deliveries": ids}
    drain(engine)
    statuses = client.get(f"{base}/deliveries", headers=admin_headers).json()["items"]
    assert {d["status"] for d in statuses} == {"delivered"}
    naive = client.post(f"{base}/deliveries/replay-dead", headers=admin_headers, json={"since": "2025-01-01T00:00"})
    assert naive.status_code == 422


def test_bad_input_is_4xx_never_500(client, admin_headers, receiver):
    created = create(client, admin_headers, receiver).json()
    base = f"/api/v1/webhooks/{created['id']}"
    cases = [
        ("get", f"{base}/deliveries", {"params": {"from": "2025-01-01T00:00:00"}}),  # no timezone
        ("get", f"{base}/deliveries", {"params": {"cursor": "not-a-cursor"}}),
        ("get", f"{base}/deliveries", {"params": {"limit": 0}}),
        ("get", "/api/v1/webhooks/abc", {}),
        ("get", "/api/v1/webhooks/999/deliveries", {}),
        ("post", f"{base}/test", {"json": {"event_type": "order.shipped"}}),
        ("post", f"{base}/rotate-secret", {"json": {"grace_hours": -1}}),
        ("post", f"{base}/deliveries/replay-dead", {"json": {}}),
        ("post", "/api/v1/webhooks", {"content": b"{not json", "headers": {"content-type": "application/json"}}),
        ("post", "/api/v1/webhooks", {"json": {"url": receiver.url, "event_types": [], "extra": 1}}),
        ("patch", base, {"json": {"headers": {"bad name": "x"}}}),
    ]
    for method, url, kwargs in cases:
        answer = getattr(client, method)(url, headers={**admin_headers, **kwargs.pop("headers", {})}, **kwargs)
        assert 400 <= answer.status_code < 500, (method, url, answer.status_code, answer.text)
        assert set(answer.json()["error"]) >= {"code", "message"}
