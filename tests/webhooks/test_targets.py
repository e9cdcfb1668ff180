"""Templated requests: a method and a URL with contact placeholders, percent-encoded per message, refused at
save when unknown, a clear death when the payload lacks the contact, and the resolved request logged."""

from __future__ import annotations

import pytest

from tests.webhooks.helpers import attempts, drain, message, publish
from voc.webhooks import delivery
from voc.webhooks.samples import sample_event
from voc.webhooks.targets import MissingContact, check_url_template, resolve_url


def create(client, auth, **fields):
    body = {"event_types": ["response.completed"], **fields}
    return client.post("/api/v1/webhooks", json=body, headers=auth)


@pytest.mark.parametrize(("url", "code"), [
    ("https://crm.example.com/contacts/{contact.id}", "url_unknown_placeholder"),
    ("https://crm.example.com/contacts/{salesforce.instance_url}", "url_unknown_placeholder"),
    ("https://{contact.crm}.example.com/contacts", "url_placeholder_in_host"),
    ("https://crm.example.com:{contact.external_id}/x", "url_placeholder_in_host"),
    ("https://crm.example.com/contacts/{contact.external_id", "url_invalid"),
    ("https://crm.example.com/contacts/}", "url_invalid"),
])
def test_an_unknown_or_misplaced_placeholder_is_refused_at_save(client, admin_headers, url, code):
    refused = create(client, admin_headers, url=url)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == code, refused.text


def test_a_method_other_than_post_put_patch_is_refused(client, admin_headers, receiver):
    refused = create(client, admin_headers, url=receiver.url, method="DELETE")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "method_not_allowed"
    made = create(client, admin_headers, url=receiver.url + "/{contact.external_id}", method="put")
    assert made.status_code == 201 and made.json()["method"] == "PUT"
    assert made.json()["url"] == receiver.url + "/{contact.external_id}"


def test_placeholders_are_filled_per_message_as_one_encoded_segment(engine, receiver, make_endpoint, client,
                                                                    admin_headers):
    endpoint_id, _ = make_endpoint(url=receiver.url + "/{contact.crm}/{contact.external_id}?src=voc",
                                   method="PUT")
    data = sample_event("response.completed")["data"]
    data["contact"] = {"external_id": "a/b c?d#e%f", "crm": "sales force"}
    [msg_id] = publish(engine, "response.completed", data)
    drain(engine)

    [got] = receiver.received
    assert got.verified and got.method == "PUT"
    assert got.path == "/hooks/voc/sales%20force/a%2Fb%20c%3Fd%23e%25f?src=voc"
    resolved = f"{receiver.url}/sales%20force/a%2Fb%20c%3Fd%23e%25f?src=voc"
    [attempt] = attempts(engine, msg_id)
    assert (attempt.method, attempt.url, attempt.status_code) == ("PUT", resolved, 200)
    shown = client.get(f"/api/v1/webhooks/{endpoint_id}/deliveries/{msg_id}", headers=admin_headers).json()
    assert shown["attempts"][0]["method"] == "PUT" and shown["attempts"][0]["url"] == resolved


def test_a_payload_without_the_contact_dies_with_the_reason_and_sends_nothing(engine, receiver, make_endpoint):
    make_endpoint(url=receiver.url + "/{contact.external_id}")
    data = sample_event("response.completed")["data"]
    del data["contact"]
    [msg_id] = publish(engine, "response.completed", data)
    drain(engine)
    assert receiver.received == []
    stored = message(engine, msg_id)
    assert stored.status == "dead"
    assert stored.last_error == ("not sent: the URL needs {contact.external_id}, and this response.completed "
                                 "event carries no contact external_id")
    [attempt] = attempts(engine, msg_id)
    assert attempt.method is None and attempt.url is None


def test_the_address_check_runs_on_the_resolved_url(engine, receiver, make_endpoint, monkeypatch):
    checked = []
    real = delivery.resolve_and_check

    def spy(url, allow_private, **kwargs):
        checked.append(url)
        return real(url, allow_private, **kwargs)

    monkeypatch.setattr(delivery, "resolve_and_check", spy)
    make_endpoint(url=receiver.url + "/{contact.external_id}")
    publish(engine, "response.completed")
    drain(engine)
    assert checked == [receiver.url + "/0035e00000Xy7AbQAJ"]


def test_resolution_is_pure_and_leaves_the_instance_url_to_the_token():
    event = sample_event("followup.created")
    url = "{salesforce.instance_url}/services/data/v62.0/sobjects/Contact/F__c/{contact.external_id}"
    assert check_url_template(url, has_connection=True) is None
    assert resolve_url(url, event).endswith("/F__c/0035e00000Xy7AbQAJ")
    assert resolve_url(url, event).startswith("{salesforce.instance_url}/")
    event["data"]["contact"]["external_id"] = ""
    with pytest.raises(MissingContact):
        resolve_url(url, event)


def test_the_dashboard_log_shows_the_resolved_request(client, engine, receiver, make_endpoint, login):
    endpoint_id, _ = make_endpoint(url=receiver.url + "/{contact.external_id}", method="PATCH")
    publish(engine, "response.completed")
    drain(engine)
    login("admin")
    page = client.get(f"/dashboard/settings?endpoint={endpoint_id}").text
    assert f"PATCH {receiver.url}/0035e00000Xy7AbQAJ" in page
    assert f"PATCH {receiver.url}/{{contact.external_id}}" in page  # the endpoint's template in its row
