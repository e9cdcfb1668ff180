"""Settings page: CRM endpoints made from the form, Salesforce connections, the credentials-rejected state
with its held deliveries, and replacing the credentials from there; never a token or secret on a page."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from tests.crm.conftest import TOKEN
from tests.webhooks.helpers import drain, message, publish
from voc.crm.models import CrmConnection
from voc.webhooks import ssrf
from voc.webhooks.models import WebhookEndpoint
from voc.webhooks.samples import sample_event


def _endpoints(engine) -> list[WebhookEndpoint]:
    with Session(engine, expire_on_commit=False) as session:
        return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def test_crm_endpoints_and_a_connection_are_made_from_the_form(client, engine, login, salesforce, monkeypatch):
    # No DNS here: api.hubapi.com "resolves" to a public address for the save-time check.
    monkeypatch.setitem(ssrf.check_url.__kwdefaults__, "resolve",
                        lambda host, port, **_: [(2, 1, 6, "", ("104.16.0.1", port))])
    csrf = login("admin")
    made = client.post("/dashboard/settings/webhooks", data={
        "url": "", "event_types": ["contact.experience_updated"], "preset": "hubspot-contact-properties",
        "headers": f"Authorization: Bearer {TOKEN}", "id_property": "email", "create_missing": "true",
        "csrf_token": csrf})
    assert made.status_code == 200, made.text  # the endpoint's page, after the redirect
    assert "Set up HubSpot properties" in made.text
    [hubspot] = _endpoints(engine)
    assert hubspot.method == "PATCH" and hubspot.options["create_missing"] is True
    assert hubspot.url == "https://api.hubapi.com/crm/v3/objects/contacts/{contact.external_id}?idProperty=email"
    assert TOKEN not in made.text

    saved = client.post("/dashboard/settings/connections", data={
        "name": "Acme org", "my_domain_url": salesforce.url, "client_id": "3MVG9-voc-test",
        "client_secret": "s3cr3t-consumer", "csrf_token": csrf}, follow_redirects=False)
    assert saved.status_code == 303
    with Session(engine) as session:
        connection_id = session.scalars(select(CrmConnection.id)).one()
    made = client.post("/dashboard/settings/webhooks", data={
        "event_types": ["contact.experience_updated"], "preset": "salesforce-sobject",
        "connection_id": str(connection_id), "external_id_field": "Acme_Id__c", "csrf_token": csrf})
    assert made.status_code == 200, made.text
    assert _endpoints(engine)[1].url.endswith("/sobjects/Contact/Acme_Id__c/{contact.external_id}")
    page = client.get("/dashboard/settings/webhooks").text
    assert "Acme org" in page and salesforce.url in page and "s3cr3t" not in page

    refused = client.post("/dashboard/settings/webhooks", data={
        "url": "https://crm.example.com/{contact.nickname}", "event_types": ["response.completed"],
        "preset": "standard", "csrf_token": csrf})
    assert refused.status_code == 422 and "unknown placeholder {contact.nickname}" in refused.text


def test_rejected_credentials_show_and_are_replaced_from_the_page(client, engine, login, hubspot, hubspot_endpoint):
    hubspot.install_voc_properties()
    record = hubspot.add_contact()
    hubspot.expired.add(TOKEN)
    endpoint_id = hubspot_endpoint()
    data = sample_event("contact.experience_updated")["data"]
    data["contact"] = {"external_id": record, "crm": "hubspot"}
    [msg_id] = publish(engine, "contact.experience_updated", data)
    drain(engine)

    csrf = login("admin")
    page = client.get(f"/dashboard/settings?endpoint={endpoint_id}").text
    assert "Credentials rejected" in page and "EXPIRED_AUTHENTICATION" in page
    assert "1 delivery held" in page and "Replace credentials" in page
    assert f"PATCH {hubspot.url}/crm/v3/objects/contacts/{record}" in page  # the resolved request
    assert TOKEN not in page

    hubspot.tokens["pat-na1-new"] = set(hubspot.tokens[TOKEN])
    replaced = client.post(f"/dashboard/settings/webhooks/{endpoint_id}/credentials",
                           data={"headers": "Authorization: Bearer pat-na1-new", "csrf_token": csrf},
                           follow_redirects=False)
    assert replaced.status_code == 303
    drain(engine)
    assert message(engine, msg_id).status == "delivered"
    assert "Credentials rejected" not in client.get("/dashboard/settings/webhooks").text

    client.cookies.clear()
    login("viewer")
    viewer = client.get(f"/dashboard/settings?endpoint={endpoint_id}")
    assert viewer.status_code == 200 and "pat-na1-new" not in viewer.text
    assert f"/crm/v3/objects/contacts/{record}" not in viewer.text  # a viewer sees hosts only
