"""End to end: a customer answers in voc, the worker runs, and the CRM's own contact record holds the new
NPS, sentiment, dimensions and themes, in the types the CRM documents for each field."""

from __future__ import annotations

from tests import factories
from voc.crm.hubspot import BY_NAME

TEXT = ("The parcel came late and the box was torn. The driver was rude and the support line kept me waiting "
        "for an hour.")
EVENTS = ["response.completed", "response.analyzed", "contact.experience_updated"]


def _answer(client, auth, contact: dict) -> dict:
    """Touchpoint, survey, event, answer (NPS 3 with a comment); returns voc's stored response."""
    assert client.post("/api/v1/touchpoints", headers=auth, json={
        "key": "order_delivered", "name": "Order delivered", "stage": "delivery"}).status_code == 201
    assert client.post("/api/v1/surveys", headers=auth, json={
        "key": "post_delivery", "title": "Your delivery", "status": "active",
        "questions": [{"id": "nps", "type": "nps", "prompt": "Recommend us?", "required": True},
                      {"id": "why", "type": "text", "prompt": "Why?"}],
        "triggers": [{"touchpoint": "order_delivered"}]}).status_code == 201
    event = client.post("/api/v1/events", headers=auth, json={
        "event_id": "ord-77-delivered", "touchpoint": "order_delivered", "contact": contact})
    assert event.json()["outcome"] == "invited", event.text
    sent = client.post("/api/v1/responses", json={
        "token": factories.token_of(event.json()["invitation"]["url"]),
        "answers": [{"question_id": "nps", "value": 3}, {"question_id": "why", "value": TEXT}]})
    assert sent.status_code == 201, sent.text
    return sent.json()


def _stored(client, auth, response_id) -> dict:
    return client.get(f"/api/v1/responses/{response_id}", headers=auth).json()


def test_a_response_lands_on_the_hubspot_contact(client, admin_headers, hubspot, run_jobs):
    from voc.crm.hubspot_setup import setup_properties

    setup_properties("pat-na1-good", base_url=hubspot.url)
    record = hubspot.add_contact(email="ann@example.com", firstname="Ann")
    made = client.post("/api/v1/webhooks", headers=admin_headers, json={
        "preset": "hubspot-contact-properties", "event_types": EVENTS,
        "headers": {"Authorization": "Bearer pat-na1-good"}, "options": {"base_url": hubspot.url}})
    assert made.status_code == 201, made.text
    response = _answer(client, admin_headers, {"external_id": record, "crm": "hubspot"})
    run_jobs()

    analysis = _stored(client, admin_headers, response["id"])["analysis"]
    patches = hubspot.requests("PATCH")
    assert len(patches) == 3 and all(p.path == f"/crm/v3/objects/contacts/{record}" for p in patches)
    assert all(p.status == 200 for p in patches)
    sent: dict = {}
    for patch in patches:  # every value in the form its property's type takes
        for name, value in patch.json["properties"].items():
            kind = BY_NAME[name].type
            assert (isinstance(value, int | float) if kind == "number" else isinstance(value, str)), (name, value)
            sent[name] = value
    assert sent["voc_last_nps"] == 3 and sent["voc_nps_category"] == "detractor"
    assert sent["voc_last_sentiment"] == analysis["sentiment"]["label"] == "negative"
    assert sent["voc_last_sentiment_score"] == round(analysis["sentiment"]["compound"], 4)
    assert analysis["themes"] and sent["voc_last_themes"] == ";".join(analysis["themes"])
    expressed = {name: score for name, score in analysis["dimensions"].items() if score}
    assert expressed
    for name, score in expressed.items():
        assert sent[f"voc_{name}_score"] == round(score["valence"], 4)
    assert sent["voc_experience_mismatch"] in ("true", "false")

    properties = hubspot.contacts[record]["properties"]  # the record, as HubSpot would answer a GET
    assert properties["firstname"] == "Ann" and properties["voc_last_nps"] == "3"
    assert properties["voc_last_sentiment"] == "negative" and properties["voc_last_themes"] == sent["voc_last_themes"]
    assert properties["voc_last_touchpoint"] == "order_delivered"
    assert properties["voc_last_response_date"] == response_day(client, admin_headers, response["id"])


def response_day(client, auth, response_id) -> str:
    return _stored(client, auth, response_id)["completed_at"][:10]


def test_a_response_lands_on_the_salesforce_contact(client, admin_headers, salesforce, salesforce_connection,
                                                    run_jobs):
    record = salesforce.add_contact("C-42")
    made = client.post("/api/v1/webhooks", headers=admin_headers, json={
        "preset": "salesforce-sobject", "connection_id": salesforce_connection(), "event_types": EVENTS})
    assert made.status_code == 201, made.text
    response = _answer(client, admin_headers, {"external_id": "C-42", "crm": "salesforce"})
    run_jobs()

    analysis = _stored(client, admin_headers, response["id"])["analysis"]
    upserts = salesforce.requests("PATCH")
    assert len(upserts) == 3 and all(u.status == 200 for u in upserts)
    contact = salesforce.contacts[record]
    assert contact["Voc_Last_NPS__c"] == 3 and contact["Voc_NPS_Category__c"] == "Detractor"
    assert contact["Voc_Last_Sentiment__c"] == analysis["sentiment"]["label"].capitalize()
    assert contact["Voc_Last_Sentiment_Score__c"] == round(analysis["sentiment"]["compound"], 4)
    assert contact["Voc_Last_Themes__c"] == ";".join(analysis["themes"])
    for name, score in analysis["dimensions"].items():
        if score:
            assert contact[f"Voc_{name.capitalize()}_Score__c"] == round(score["valence"], 4)
    assert isinstance(contact["Voc_Experience_Mismatch__c"], bool)
    assert contact["Voc_Response_Count__c"] == 1 and contact["LastName"] == "Doe"
    assert contact["Voc_Last_Response_At__c"].endswith(".000Z")
