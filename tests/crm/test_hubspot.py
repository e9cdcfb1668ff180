"""Delivery to a fake HubSpot: PATCH by record id or unique property, typed property values, a missing
contact (dead, or created), rate limits, refused credentials (held, then released), and the setup."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.crm.conftest import TOKEN
from tests.crm.fakes import Answer
from tests.webhooks.helpers import attempts, drain, endpoint, message, publish
from voc.crm.hubspot import BY_NAME, PROPERTIES
from voc.crm.hubspot_setup import SetupError, setup_properties
from voc.webhooks.samples import sample_event


def summary_event(external_id: str, crm: str = "hubspot") -> dict:
    data = sample_event("contact.experience_updated")["data"]
    data["contact"] = {"external_id": external_id, "crm": crm}
    return data


def test_an_update_is_a_typed_patch_of_the_contact(engine, hubspot, hubspot_endpoint):
    hubspot.install_voc_properties()
    record = hubspot.add_contact(email="ann@example.com")
    endpoint_id = hubspot_endpoint()
    [msg_id] = publish(engine, "contact.experience_updated", summary_event(record))
    drain(engine)

    [seen] = hubspot.requests("PATCH")
    assert seen.path == f"/crm/v3/objects/contacts/{record}" and seen.query == {}
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert seen.headers["content-type"] == "application/json"
    sent = seen.json["properties"]
    assert sent["voc_last_nps"] == 9 and isinstance(sent["voc_last_nps"], int)
    assert sent["voc_ces"] == 2.3333 and sent["voc_last_sentiment_score"] == 0.4404
    assert sent["voc_nps_category"] == "promoter" and sent["voc_experience_trend"] == "improving"
    assert sent["voc_updated_at"] == "2025-05-14T09:31:20.000Z"
    assert {BY_NAME[name].type for name in sent} >= {"number", "enumeration", "string", "datetime"}
    stored = hubspot.contacts[record]["properties"]
    assert stored["voc_last_nps"] == "9" and stored["voc_feel_score"] == "0.55"  # HubSpot keeps strings

    assert message(engine, msg_id).status == "delivered"
    [attempt] = attempts(engine, msg_id)
    assert (attempt.method, attempt.url) == ("PATCH", f"{hubspot.url}/crm/v3/objects/contacts/{record}")
    assert endpoint(engine, endpoint_id).url == f"{hubspot.url}/crm/v3/objects/contacts/{{contact.external_id}}"


def test_by_email_the_id_is_percent_encoded_and_the_id_property_is_in_the_query(engine, hubspot, hubspot_endpoint):
    hubspot.install_voc_properties()
    record = hubspot.add_contact(email="ann+vip@example.com")
    hubspot_endpoint(options={"id_property": "email"})
    [msg_id] = publish(engine, "contact.experience_updated", summary_event("ann+vip@example.com"))
    drain(engine)

    [seen] = hubspot.requests("PATCH")
    assert seen.path == "/crm/v3/objects/contacts/ann%2Bvip%40example.com"
    assert seen.query == {"idProperty": ["email"]}
    assert hubspot.contacts[record]["properties"]["voc_last_nps"] == "9"
    assert attempts(engine, msg_id)[0].url.endswith("/contacts/ann%2Bvip%40example.com?idProperty=email")


def test_a_missing_contact_is_dead_with_the_reason(engine, hubspot, hubspot_endpoint):
    hubspot.install_voc_properties()
    endpoint_id = hubspot_endpoint()
    [msg_id] = publish(engine, "contact.experience_updated", summary_event("999"))
    drain(engine)

    assert len(hubspot.requests("PATCH")) == 1 and hubspot.requests("POST") == []
    stored = message(engine, msg_id)
    assert stored.status == "dead" and stored.last_status_code == 404
    assert "HubSpot has no such contact" in stored.last_error and "OBJECT_NOT_FOUND" in stored.last_error
    assert endpoint(engine, endpoint_id).failing_since is None  # a missing record says nothing of the endpoint


def test_create_missing_makes_the_contact_with_its_id_property(engine, hubspot, hubspot_endpoint):
    hubspot.install_voc_properties()
    hubspot_endpoint(options={"id_property": "email", "create_missing": True})
    [msg_id] = publish(engine, "contact.experience_updated", summary_event("new@example.com"))
    drain(engine)

    patch, post = hubspot.seen
    assert (patch.method, patch.status, post.method, post.status) == ("PATCH", 404, "POST", 201)
    assert post.path == "/crm/v3/objects/contacts" and post.query == {}
    assert post.json["properties"]["email"] == "new@example.com"
    assert post.json["properties"]["voc_last_nps"] == 9
    [created] = hubspot.contacts.values()
    assert created["properties"]["email"] == "new@example.com" and created["properties"]["voc_last_nps"] == "9"
    assert message(engine, msg_id).status == "delivered"
    assert [(a.method, a.status_code) for a in attempts(engine, msg_id)] == [("PATCH", 404), ("POST", 201)]


def test_create_missing_without_an_id_property_is_refused_at_save(client, admin_headers, hubspot):
    answer = client.post("/api/v1/webhooks", headers=admin_headers, json={
        "preset": "hubspot-contact-properties", "event_types": ["contact.experience_updated"],
        "options": {"base_url": hubspot.url, "create_missing": True}})
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "invalid_options"
    assert "id_property" in answer.json()["error"]["message"]


def test_429_waits_for_retry_after_and_5xx_is_retried(engine, hubspot, hubspot_endpoint, monkeypatch):
    from tests.webhooks.conftest import set_env

    set_env(monkeypatch, webhook_retry_schedule="0.05,0.05,3")
    hubspot.install_voc_properties()
    record = hubspot.add_contact()
    hubspot_endpoint()
    limited = Answer(429, {"status": "error", "message": "You have reached your secondly limit.",
                           "errorType": "RATE_LIMIT", "correlationId": "x", "policyName": "SECONDLY"},
                     {"Retry-After": "1"})
    hubspot.script(limited)
    hubspot.script(Answer(502, {"status": "error", "message": "Bad gateway"}))
    [msg_id] = publish(engine, "contact.experience_updated", summary_event(record))
    drain(engine)

    first, second, third = hubspot.requests("PATCH")
    assert [first.status, second.status, third.status] == [429, 502, 200]
    assert message(engine, msg_id).status == "delivered"
    log = attempts(engine, msg_id)
    assert [a.status_code for a in log] == [429, 502, 200]
    assert log[1].attempted_at - log[0].attempted_at >= timedelta(seconds=0.9)  # Retry-After, not 0.05 s


@pytest.mark.parametrize("refusal", ["expired", "scopes"])
def test_refused_credentials_hold_every_delivery_until_new_ones(client, admin_headers, engine, hubspot,
                                                                hubspot_endpoint, refusal):
    hubspot.install_voc_properties()
    record = hubspot.add_contact()
    if refusal == "expired":
        hubspot.expired.add(TOKEN)
    else:
        hubspot.tokens[TOKEN] = {"crm.objects.contacts.read"}
    endpoint_id = hubspot_endpoint()
    [first] = publish(engine, "contact.experience_updated", summary_event(record))
    drain(engine)
    [second] = publish(engine, "contact.experience_updated", summary_event(record))
    drain(engine)

    assert len(hubspot.requests("PATCH")) == 1  # the second was not even tried with known-bad credentials
    assert message(engine, first).status == "held" and message(engine, second).status == "held"
    assert [a.status_code for a in attempts(engine, first)] == [401 if refusal == "expired" else 403]
    assert attempts(engine, second) == []
    shown = client.get(f"/api/v1/webhooks/{endpoint_id}", headers=admin_headers).json()
    assert shown["credentials_rejected_at"] is not None
    assert ("EXPIRED_AUTHENTICATION" if refusal == "expired" else "MISSING_SCOPES") in \
        shown["credentials_rejected_reason"]
    held = client.get(f"/api/v1/webhooks/{endpoint_id}/deliveries?status=held", headers=admin_headers).json()
    assert {d["id"] for d in held["items"]} == {first, second}
    assert endpoint(engine, endpoint_id).enabled and endpoint(engine, endpoint_id).failing_since is None

    # New credentials release them: nothing lost, nothing dead.
    hubspot.tokens["pat-na1-new"] = {"crm.objects.contacts.write", "crm.objects.contacts.read"}
    patched = client.patch(f"/api/v1/webhooks/{endpoint_id}", headers=admin_headers,
                           json={"headers": {"Authorization": "Bearer pat-na1-new"}})
    assert patched.status_code == 200 and patched.json()["credentials_rejected_at"] is None
    assert "pat-na1-new" not in patched.text
    drain(engine)
    assert message(engine, first).status == message(engine, second).status == "delivered"
    assert [s.headers["authorization"] for s in hubspot.requests("PATCH")][-2:] == ["Bearer pat-na1-new"] * 2


def test_a_successful_test_event_releases_held_deliveries(client, admin_headers, engine, hubspot, hubspot_endpoint):
    """Scopes are fixed in HubSpot without a new token: the endpoint's Test shows it, and the rest follow."""
    hubspot.install_voc_properties()
    record = hubspot.add_contact()
    hubspot.tokens[TOKEN] = {"crm.objects.contacts.read"}
    endpoint_id = hubspot_endpoint()
    [held] = publish(engine, "contact.experience_updated", summary_event(record))
    drain(engine)
    assert message(engine, held).status == "held"

    hubspot.tokens[TOKEN] |= {"crm.objects.contacts.write"}
    tested = client.post(f"/api/v1/webhooks/{endpoint_id}/test", headers=admin_headers,
                         json={"event_type": "contact.experience_updated", "external_id": record, "crm": "hubspot"})
    assert tested.status_code == 202, tested.text
    drain(engine)
    assert message(engine, tested.json()["id"]).status == "delivered"
    assert message(engine, held).status == "delivered"
    assert endpoint(engine, endpoint_id).credentials_rejected_at is None


def test_a_property_voc_has_not_set_up_is_dead_with_a_hint(engine, hubspot, hubspot_endpoint):
    record = hubspot.add_contact()
    hubspot_endpoint()
    [msg_id] = publish(engine, "contact.experience_updated", summary_event(record))
    drain(engine)
    stored = message(engine, msg_id)
    assert stored.status == "dead" and "voc crm setup hubspot" in stored.last_error
    hubspot.violations.clear()  # the fake noted the refusal; it was the point of this test


def test_setup_creates_the_group_and_every_property_once(hubspot):
    report = setup_properties(TOKEN, base_url=hubspot.url)
    assert report.group_created and sorted(report.created) == sorted(p.name for p in PROPERTIES)
    assert hubspot.groups["voc"]["label"]
    for prop in PROPERTIES:
        made = hubspot.properties[prop.name]
        assert (made["type"], made["fieldType"], made["groupName"]) == (prop.type, prop.field_type, "voc")
    assert [o["value"] for o in hubspot.properties["voc_last_sentiment"]["options"]] == \
        ["positive", "neutral", "negative"]
    assert hubspot.properties["voc_last_themes"]["fieldType"] == "textarea"

    posts = len(hubspot.requests("POST"))
    again = setup_properties(TOKEN, base_url=hubspot.url)
    assert not again.group_created and again.created == [] and len(again.existed) == len(PROPERTIES)
    assert len(hubspot.requests("POST")) == posts  # GET first: nothing made twice


def test_setup_counts_a_409_as_there_and_reports_a_type_that_differs(hubspot):
    hubspot.properties["voc_last_nps"] = {"name": "voc_last_nps", "type": "string", "fieldType": "text",
                                          "groupName": "contactinformation"}
    hubspot.script(Answer(404, {"status": "error", "category": "OBJECT_NOT_FOUND", "message": "not found"}),
                   when=lambda s: s.method == "GET" and s.path.endswith("/voc_csat"))
    hubspot.properties["voc_csat"] = {"name": "voc_csat", "type": "number", "fieldType": "number",
                                      "groupName": "contactinformation"}
    report = setup_properties(TOKEN, base_url=hubspot.url, id_property="acme_customer_id")
    assert "voc_csat" in report.existed  # the 409 of a property made meanwhile
    assert any("voc_last_nps is string, voc writes number" in m for m in report.mismatched)
    assert hubspot.properties["acme_customer_id"]["hasUniqueValue"] is True


def test_setup_with_a_token_lacking_the_schema_scope_says_which_scopes(hubspot):
    hubspot.tokens[TOKEN] = {"crm.objects.contacts.read"}
    with pytest.raises(SetupError) as refused:
        setup_properties(TOKEN, base_url=hubspot.url)
    assert "crm.schemas.contacts.write" in refused.value.message and "403" in refused.value.message


def test_the_cli_sets_up_hubspot(hubspot, capsys):
    from voc.cli import main

    assert main(["crm", "setup", "hubspot", "--token", TOKEN, "--base-url", hubspot.url]) == 0
    out = capsys.readouterr().out
    assert f"{len(PROPERTIES)} properties created" in out and TOKEN not in out
    assert main(["crm", "setup", "hubspot", "--token", "pat-wrong", "--base-url", hubspot.url]) == 2
    assert "HubSpot refused the token (HTTP 401" in capsys.readouterr().err


def test_the_settings_button_runs_the_setup_as_a_job(client, engine, hubspot, hubspot_endpoint, login, run_jobs):
    endpoint_id = hubspot_endpoint()
    csrf = login("admin")
    queued = client.post(f"/dashboard/settings/webhooks/{endpoint_id}/crm-setup", data={"csrf_token": csrf},
                         follow_redirects=False)
    assert queued.status_code == 303
    run_jobs()
    assert endpoint(engine, endpoint_id).crm_setup_result.startswith(f"done: group 'voc' created, "
                                                                     f"{len(PROPERTIES)} properties created")
    page = client.get(f"/dashboard/settings/webhooks/{endpoint_id}").text
    assert "properties created" in page and TOKEN not in page


def test_the_http_calls_carry_no_token_in_urls_or_logs(engine, hubspot, hubspot_endpoint, caplog):
    caplog.set_level("DEBUG")
    hubspot.install_voc_properties()
    record = hubspot.add_contact()
    hubspot_endpoint()
    [msg_id] = publish(engine, "contact.experience_updated", summary_event(record))
    drain(engine)
    assert TOKEN not in caplog.text
    assert TOKEN not in json.dumps([a.url for a in attempts(engine, msg_id)])


def test_changing_the_options_builds_the_url_again_but_keeps_a_given_one(client, admin_headers, hubspot):
    made = client.post("/api/v1/webhooks", headers=admin_headers, json={
        "preset": "hubspot-contact-properties", "event_types": ["contact.experience_updated"],
        "options": {"base_url": hubspot.url}}).json()
    url = f"/api/v1/webhooks/{made['id']}"
    patched = client.patch(url, headers=admin_headers, json={"options": {"base_url": hubspot.url,
                                                                         "id_property": "email"}}).json()
    assert patched["url"] == f"{hubspot.url}/crm/v3/objects/contacts/{{contact.external_id}}?idProperty=email"
    assert patched["options"] == {"base_url": hubspot.url, "id_property": "email", "create_missing": False}
    given = f"{hubspot.url}/proxy/{{contact.external_id}}"
    assert client.patch(url, headers=admin_headers, json={"url": given}).json()["url"] == given
    kept = client.patch(url, headers=admin_headers, json={"options": {"base_url": hubspot.url}}).json()
    assert kept["url"] == given and kept["method"] == "PATCH"
    rebuilt = client.patch(url, headers=admin_headers, json={"url": None}).json()
    assert rebuilt["url"] == f"{hubspot.url}/crm/v3/objects/contacts/{{contact.external_id}}"
    bad = client.patch(url, headers=admin_headers, json={"options": {"id_property": "E-mail!"}})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_options"
