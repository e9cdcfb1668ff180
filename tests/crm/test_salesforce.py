"""Delivery to a fake Salesforce org: a client-credentials token fetched once and cached sealed, the upsert
by external id, an expired session refreshed once, refused credentials held, limits and missing records."""

from __future__ import annotations

from sqlmodel import Session

from tests.crm.fakes import Answer
from tests.webhooks.helpers import attempts, drain, endpoint, message, publish
from voc.crm.models import CrmConnection
from voc.webhooks.samples import sample_event
from voc.webhooks.sealing import unseal


def summary_event(external_id: str) -> dict:
    data = sample_event("contact.experience_updated")["data"]
    data["contact"] = {"external_id": external_id, "crm": "salesforce"}
    return data


def connection_row(engine, connection_id: int) -> CrmConnection:
    with Session(engine, expire_on_commit=False) as session:
        return session.get(CrmConnection, connection_id)


def make_endpoint(client, admin_headers, connection_id: int, **fields) -> dict:
    answer = client.post("/api/v1/webhooks", headers=admin_headers, json={
        "preset": "salesforce-sobject", "connection_id": connection_id,
        "event_types": ["response.completed", "response.analyzed", "contact.experience_updated"], **fields})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_connection_is_saved_without_showing_its_secret(client, admin_headers, salesforce):
    made = client.post("/api/v1/webhooks/connections", headers=admin_headers, json={
        "name": "Acme", "my_domain_url": salesforce.url + "/", "client_id": "3MVG9-voc-test",
        "client_secret": "s3cr3t-consumer"})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["my_domain_url"] == salesforce.url and body["token_cached"] is False
    assert body["client_id_hint"] == "3MVG9-…" and "s3cr3t" not in made.text
    listed = client.get("/api/v1/webhooks/connections", headers=admin_headers)
    assert [c["id"] for c in listed.json()] == [body["id"]] and "s3cr3t" not in listed.text

    bad = client.post("/api/v1/webhooks/connections", headers=admin_headers, json={
        "name": "x", "my_domain_url": salesforce.url + "/services", "client_id": "a", "client_secret": "b"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "url_invalid"
    assert client.get("/api/v1/webhooks/connections/99").status_code in (401, 404, 405)
    gone = client.delete("/api/v1/webhooks/connections/999", headers=admin_headers)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "connection_not_found"


def test_the_upsert_uses_a_cached_token_and_typed_fields(client, admin_headers, engine, salesforce,
                                                         salesforce_connection):
    record = salesforce.add_contact("C-42")
    connection_id = salesforce_connection()
    made = make_endpoint(client, admin_headers, connection_id)
    assert made["method"] == "PATCH"
    assert made["url"] == ("{salesforce.instance_url}/services/data/v62.0/sobjects/Contact/Voc_External_Id__c/"
                           "{contact.external_id}")
    first = publish(engine, "contact.experience_updated", summary_event("C-42"))
    second = publish(engine, "contact.experience_updated", summary_event("C-42"))
    drain(engine)

    [token_request] = salesforce.requests("POST", "/services/oauth2/token")  # one token for both
    assert token_request.headers["content-type"] == "application/x-www-form-urlencoded"
    upserts = salesforce.requests("PATCH")
    assert len(upserts) == 2
    assert upserts[0].path == "/services/data/v62.0/sobjects/Contact/Voc_External_Id__c/C-42"
    assert upserts[0].headers["authorization"].startswith("Bearer 00DFAKE!")
    assert upserts[0].headers["content-type"] == "application/json"
    sent = upserts[0].json
    assert sent["Voc_Last_NPS__c"] == 9 and sent["Voc_NPS_Category__c"] == "Promoter"
    assert sent["Voc_CES__c"] == 2.3333 and sent["Voc_Updated_At__c"] == "2025-05-14T09:31:20.000Z"
    assert "Voc_External_Id__c" not in sent
    assert salesforce.contacts[record]["Voc_Feel_Score__c"] == 0.55
    assert message(engine, first[0]).status == message(engine, second[0]).status == "delivered"
    [attempt] = attempts(engine, first[0])
    assert (attempt.method, attempt.url) == ("PATCH", f"{salesforce.url}/services/data/v62.0/sobjects/Contact/"
                                                      "Voc_External_Id__c/C-42")
    stored = connection_row(engine, connection_id)
    assert stored.access_token and "00DFAKE" not in stored.access_token  # sealed at rest
    assert unseal(stored.access_token).startswith("00DFAKE!") and stored.instance_url == salesforce.url
    assert "s3cr3t" not in stored.client_secret


def test_an_expired_session_is_refreshed_once(client, admin_headers, engine, salesforce, salesforce_connection):
    salesforce.add_contact("C-42")
    connection_id = salesforce_connection()
    make_endpoint(client, admin_headers, connection_id)
    publish(engine, "contact.experience_updated", summary_event("C-42"))
    drain(engine)
    old = unseal(connection_row(engine, connection_id).access_token)

    salesforce.expire_tokens()
    [msg_id] = publish(engine, "contact.experience_updated", summary_event("C-42"))
    drain(engine)
    assert message(engine, msg_id).status == "delivered"
    assert [(a.method, a.status_code) for a in attempts(engine, msg_id)] == [("PATCH", 401), ("PATCH", 200)]
    assert "INVALID_SESSION_ID" in attempts(engine, msg_id)[0].error
    new = unseal(connection_row(engine, connection_id).access_token)
    assert new != old and len(salesforce.requests("POST", "/services/oauth2/token")) == 2


def test_a_token_refused_again_after_the_refresh_holds_the_deliveries(client, admin_headers, engine, salesforce,
                                                                     salesforce_connection):
    salesforce.add_contact("C-42")
    connection_id = salesforce_connection()
    made = make_endpoint(client, admin_headers, connection_id)
    publish(engine, "contact.experience_updated", summary_event("C-42"))
    drain(engine)  # a token is cached now
    expired = Answer(401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    salesforce.script(expired, when=lambda s: s.method == "PATCH", times=2)
    [msg_id] = publish(engine, "contact.experience_updated", summary_event("C-42"))
    drain(engine)
    assert len(salesforce.requests("POST", "/services/oauth2/token")) == 2  # the first, and one refresh
    assert [a.status_code for a in attempts(engine, msg_id)] == [401, 401]
    assert message(engine, msg_id).status == "held"
    assert "with a new token too" in message(engine, msg_id).last_error
    assert endpoint(engine, made["id"]).credentials_rejected_at is not None


def test_refused_client_credentials_hold_until_the_connection_gets_new_ones(client, admin_headers, engine, salesforce,
                                                                          salesforce_connection):
    record = salesforce.add_contact("C-42")
    connection_id = salesforce_connection(client_secret="wrong")
    made = make_endpoint(client, admin_headers, connection_id)
    [msg_id] = publish(engine, "contact.experience_updated", summary_event("C-42"))
    drain(engine)

    assert salesforce.requests("PATCH") == []
    stored = message(engine, msg_id)
    assert stored.status == "held" and "invalid_client" in stored.last_error
    [attempt] = attempts(engine, msg_id)
    assert (attempt.method, attempt.status_code) == ("POST", 400) and attempt.url.endswith("/services/oauth2/token")
    shown = client.get(f"/api/v1/webhooks/{made['id']}", headers=admin_headers).json()
    assert "Salesforce refused the connection's client credentials" in shown["credentials_rejected_reason"]

    fixed = client.patch(f"/api/v1/webhooks/connections/{connection_id}", headers=admin_headers,
                         json={"client_secret": "s3cr3t-consumer"})
    assert fixed.status_code == 200 and "s3cr3t" not in fixed.text
    drain(engine)
    assert message(engine, msg_id).status == "delivered"
    assert salesforce.contacts[record]["Voc_Last_NPS__c"] == 9
    assert endpoint(engine, made["id"]).credentials_rejected_at is None


def test_the_api_limit_is_retried_and_missing_records_die_with_the_reason(client, admin_headers, engine, salesforce,
                                                                         salesforce_connection):
    salesforce.add_contact("C-42")
    connection_id = salesforce_connection()
    make_endpoint(client, admin_headers, connection_id)
    limit = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    # Deliveries to different contacts run concurrently: the limit meets the C-42 update, whichever goes first.
    salesforce.script(Answer(403, limit), when=lambda s: s.method == "PATCH" and s.path.endswith("/C-42"))
    [limited] = publish(engine, "contact.experience_updated", summary_event("C-42"))
    [missing] = publish(engine, "contact.experience_updated", summary_event("C-404"))
    drain(engine)
    assert [a.status_code for a in attempts(engine, limited)] == [403, 200]
    assert message(engine, limited).status == "delivered"
    stored = message(engine, missing)
    assert stored.status == "dead" and stored.last_status_code == 400
    assert "no Contact with Voc_External_Id__c = C-404" in stored.last_error


def test_an_unknown_external_id_field_is_not_found(client, admin_headers, engine, salesforce, salesforce_connection):
    salesforce.add_contact("C-42")
    made = make_endpoint(client, admin_headers, salesforce_connection(),
                         options={"external_id_field": "Acme_Id__c"})
    assert made["url"].endswith("/sobjects/Contact/Acme_Id__c/{contact.external_id}")
    [msg_id] = publish(engine, "contact.experience_updated", summary_event("C-42"))
    drain(engine)
    stored = message(engine, msg_id)
    assert stored.status == "dead" and stored.last_status_code == 404
    assert "NOT_FOUND" in stored.last_error and "Acme_Id__c" in stored.last_error


def test_a_connection_in_use_cannot_be_deleted(client, admin_headers, salesforce, salesforce_connection):
    connection_id = salesforce_connection()
    made = make_endpoint(client, admin_headers, connection_id)
    refused = client.delete(f"/api/v1/webhooks/connections/{connection_id}", headers=admin_headers)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "connection_in_use"
    assert client.delete(f"/api/v1/webhooks/{made['id']}", headers=admin_headers).status_code == 204
    assert client.delete(f"/api/v1/webhooks/connections/{connection_id}", headers=admin_headers).status_code == 204


def test_the_salesforce_preset_needs_a_connection_or_a_url(client, admin_headers):
    answer = client.post("/api/v1/webhooks", headers=admin_headers, json={
        "preset": "salesforce-sobject", "event_types": ["contact.experience_updated"]})
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "url_missing"
    missing = client.post("/api/v1/webhooks", headers=admin_headers, json={
        "preset": "salesforce-sobject", "event_types": ["contact.experience_updated"], "connection_id": 77})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "connection_not_found"
