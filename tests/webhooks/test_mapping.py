"""Payload mapping: presets give the documented CRM shapes; custom templates are sandboxed and checked."""

from __future__ import annotations

import json
import re

import pytest

from voc.crm.hubspot import BY_NAME
from voc.webhooks import mapping
from voc.webhooks.mapping import PRESETS, MappingError, render_payload, validate_template
from voc.webhooks.samples import EVENT_TYPES, sample_event

DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
DATE = re.compile(r"^\d{4}-\d\d-\d\d$")


def render(preset, event_type, template=None, **changes):
    event = sample_event(event_type)
    event["data"].update(changes)
    return json.loads(render_payload(template, preset, event))


def test_samples_cover_every_event_type_and_carry_the_contact():
    for event_type in EVENT_TYPES:
        event = sample_event(event_type)
        assert set(event) == {"type", "timestamp", "data"} and event["type"] == event_type
        assert set(event["data"]["contact"]) == {"external_id", "crm"}
    with pytest.raises(ValueError):
        sample_event("order.shipped")


def test_samples_are_independent_copies():
    sample_event("response.completed")["data"]["contact"]["external_id"] = "changed"
    assert sample_event("response.completed")["data"]["contact"]["external_id"] != "changed"


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_validates_for_every_event_type(preset):
    validate_template(None, preset)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_standard_preset_sends_the_event_unchanged_as_compact_json(event_type):
    event = sample_event(event_type)
    body = render_payload(None, "standard", event)
    assert json.loads(body) == event
    assert b"\n" not in body and b'": ' not in body


def test_standard_key_order_is_stable_whatever_order_the_event_was_built_in():
    event = sample_event("followup.created")
    reordered = {"data": {k: event["data"][k] for k in reversed(event["data"])},
                 "timestamp": event["timestamp"], "type": event["type"]}
    assert render_payload(None, "standard", reordered) == render_payload(None, "standard", event)


def test_unknown_preset():
    with pytest.raises(MappingError) as caught:
        render_payload(None, "zapier", sample_event("response.completed"))
    assert caught.value.code == "unknown_payload_preset"


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_hubspot_body_is_typed_properties_with_snake_case_names(event_type):
    body = render("hubspot-contact-properties", event_type)
    assert list(body) == ["properties"]
    properties = body["properties"]
    assert properties["voc_updated_at"].endswith("Z")
    for name, value in properties.items():
        assert name.startswith("voc_") and name == name.lower() and " " not in name
        if event_type == "contact.erased" and name != "voc_updated_at":
            assert value == "", name  # HubSpot clears a property set to ""
            continue
        kind = BY_NAME[name].type
        if kind == "number":
            assert isinstance(value, int | float) and not isinstance(value, bool), name
        elif kind == "bool":
            assert value in ("true", "false"), name
        elif kind == "enumeration":
            assert value in BY_NAME[name].options, name
        elif kind == "datetime":
            assert DATETIME.match(value), (name, value)
        elif kind == "date":
            assert DATE.match(value), (name, value)
        else:
            assert isinstance(value, str), name


def test_hubspot_experience_summary():
    properties = render("hubspot-contact-properties", "contact.experience_updated")["properties"]
    assert properties["voc_last_nps"] == 9
    assert properties["voc_nps_category"] == "promoter"
    assert properties["voc_last_sentiment"] == "positive"
    assert properties["voc_last_sentiment_score"] == 0.4404
    assert properties["voc_ces"] == 2.3333
    assert properties["voc_response_count"] == 3
    assert properties["voc_sense_score"] == 0.71 and properties["voc_think_score"] == -0.42
    assert properties["voc_last_touchpoint"] == "order_delivered"
    assert properties["voc_experience_trend"] == "improving"
    assert properties["voc_updated_at"] == "2025-05-14T09:31:20.000Z"
    assert "voc_act_score" not in properties  # null dimension: left out rather than blanked in HubSpot


def test_hubspot_response_completed_derives_the_nps_category_and_the_day():
    event = sample_event("response.completed")
    event["data"]["response"]["scores"] = {"nps": 3, "csat": 4, "ces": None}
    properties = json.loads(render_payload(None, "hubspot-contact-properties", event))["properties"]
    assert properties["voc_last_nps"] == 3 and properties["voc_nps_category"] == "detractor"
    assert properties["voc_last_csat"] == 4 and "voc_last_ces" not in properties
    assert properties["voc_last_response_at"] == "2025-05-14T09:31:12.000Z"
    assert properties["voc_last_response_date"] == "2025-05-14"  # a date property: the day, midnight UTC


def test_hubspot_analysis_booleans_and_themes():
    properties = render("hubspot-contact-properties", "response.analyzed")["properties"]
    assert properties["voc_experience_mismatch"] == "false"
    assert properties["voc_last_themes"] == "delivery speed;packaging;app usability"


def test_hubspot_enumerations_send_only_declared_options():
    event = sample_event("contact.experience_updated")
    event["data"]["summary"]["trend"] = "sideways"  # a value HubSpot's select would refuse
    event["data"]["summary"]["latest_sentiment"]["label"] = "Positive"
    properties = json.loads(render_payload(None, "hubspot-contact-properties", event))["properties"]
    assert "voc_experience_trend" not in properties and "voc_last_sentiment" not in properties
    assert properties["voc_last_nps"] == 9  # the rest still goes


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_salesforce_body_is_flat_custom_fields_without_the_external_id(event_type):
    body = render("salesforce-sobject", event_type)
    assert body["Voc_Updated_At__c"]
    for name, value in body.items():
        assert name.startswith("Voc_") and name.endswith("__c")
        assert not isinstance(value, dict | list)
    assert "Voc_External_Id__c" not in body
    assert sample_event(event_type)["data"]["contact"]["external_id"] not in json.dumps(body)


def test_salesforce_experience_summary_keeps_numbers_and_capitalises_picklists():
    body = render("salesforce-sobject", "contact.experience_updated")
    assert body["Voc_Last_NPS__c"] == 9
    assert body["Voc_NPS_Category__c"] == "Promoter"
    assert body["Voc_Last_Sentiment__c"] == "Positive"
    assert body["Voc_Last_Touchpoint__c"] == "order_delivered"
    assert body["Voc_Response_Count__c"] == 3
    assert body["Voc_Updated_At__c"] == "2025-05-14T09:31:20.000Z"


def test_salesforce_themes_are_long_text_and_checkboxes_booleans():
    body = render("salesforce-sobject", "response.analyzed")
    assert body["Voc_Last_Themes__c"] == "delivery speed;packaging;app usability"
    assert body["Voc_Experience_Mismatch__c"] is False
    assert body["Voc_Last_Sentiment_Score__c"] == 0.4404


def test_salesforce_summary_without_answers_yet_sends_only_what_is_known():
    summary = {"latest_nps": None, "nps_category": None, "csat": None, "ces": None, "latest_sentiment": None,
               "dimensions": dict.fromkeys(["sense", "feel", "think", "act", "relate"]),
               "last_touchpoint": None, "response_count": 0, "trend": None,
               "updated_at": "2025-05-14T09:31:20Z"}
    body = render("salesforce-sobject", "contact.experience_updated", summary=summary)
    assert body == {"Voc_Response_Count__c": 0, "Voc_Updated_At__c": "2025-05-14T09:31:20.000Z"}


@pytest.mark.parametrize("preset", PRESETS)
def test_presets_handle_event_types_added_later(preset):
    event = {"type": "survey.archived", "timestamp": "2025-06-01T00:00:00Z", "data": {"survey": "x"}}
    assert json.loads(render_payload(None, preset, event))


CUSTOM = """
{# Pipedrive-style person update #}
{
  "person_id": {{ data.contact.external_id|tojson }},
  "event": {{ type|tojson }},
  {% if type == "contact.experience_updated" %}
  "nps": {{ data.summary.latest_nps|tojson }},
  {% endif %}
  "raw": {{ event|tojson }}
}
"""


def test_custom_template_renders_compact_json_from_the_event():
    validate_template(CUSTOM, "standard")
    body = render_payload(CUSTOM, "standard", sample_event("contact.experience_updated"))
    assert body.startswith(b'{"person_id":"0035e00000Xy7AbQAJ","event":"contact.experience_updated","nps":9,')
    assert json.loads(body)["raw"] == sample_event("contact.experience_updated")


def test_tojson_keeps_customer_text_inside_its_string():
    event = sample_event("followup.created")
    event["data"]["followup"]["reason"] = 'said "never again"}, "admin": true, {"x": "\u00e9'
    body = render_payload('{"reason": {{ data.followup.reason|tojson }}}', "standard", event)
    assert json.loads(body) == {"reason": event["data"]["followup"]["reason"]}


def rejection(template, **kwargs):
    with pytest.raises(MappingError) as caught:
        validate_template(template, "standard", **kwargs)
    assert caught.value.code == "invalid_payload_template"
    assert caught.value.status_code == 422
    return caught.value.message


def test_syntax_error_is_rejected_with_the_line():
    assert "syntax error on line 2" in rejection('{\n"a": {{ type }\n}')


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__ }}",
        '{"a": {{ "".__class__.__mro__[1].__subclasses__()|tojson }}}',
        "{{ cycler.__init__.__globals__.os }}",
        '{% set x = data.contact.update({"crm": "evil"}) %}{}',
    ],
)
def test_unsafe_attribute_access_is_rejected(template):
    assert "unsafe" in rejection(template)


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ('{"id": {{ data.contact.external_id }}}', "not valid JSON"),  # forgot |tojson
        ('{"a": 1,}', "not valid JSON"),
        ('{"a": NaN}', "NaN is not valid JSON"),
        ("{{ 42 }}", "must be a JSON object or array"),
        ("", "not valid JSON"),
    ],
)
def test_output_that_is_not_a_json_document_is_rejected(template, reason):
    assert reason in rejection(template)


def test_misspelt_field_is_rejected_naming_it():
    template = '{"nps": {{ data.sumary.latest_nps|tojson }}}'
    message = rejection(template, event_types=["contact.experience_updated"])
    assert "sumary" in message and "contact.experience_updated" in message


def test_validation_can_be_limited_to_the_endpoint_event_types():
    template = '{"nps": {{ data.summary.latest_nps|tojson }}}'
    validate_template(template, "standard", event_types=["contact.experience_updated"])
    assert "response.completed" in rejection(template, event_types=["response.completed"])


def test_a_template_that_fails_at_send_time_raises_a_render_error():
    event = sample_event("followup.created")
    event["data"]["followup"]["reason"] = 'has "quotes"'
    with pytest.raises(MappingError) as caught:
        render_payload('{"reason": "{{ data.followup.reason }}"}', "standard", event)
    assert caught.value.code == "payload_render_failed"


def test_an_erasure_clears_every_voc_property_and_field():
    hubspot = render("hubspot-contact-properties", "contact.erased")["properties"]
    assert set(hubspot) == set(BY_NAME) and hubspot["voc_last_themes"] == "" and hubspot["voc_opted_out"] == ""
    salesforce = render("salesforce-sobject", "contact.erased")
    assert salesforce["Voc_Last_Themes__c"] is None and salesforce["Voc_Updated_At__c"].endswith("Z")


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_the_standard_preset_sends_the_bytes_its_template_renders(event_type):
    """Plain endpoints are sent the event serialised once, not through Jinja: byte for byte what
    presets/standard.j2 (`{{ event|tojson }}`, shown to admins as the preset) renders, awkward values included."""
    event = sample_event(event_type)
    event["data"]["extra"] = {"text": "é\u2028<b>&\"quoted\"", "sum": 0.1 + 0.2, "big": 10**20, "zero": -0.0,
                              "list": [None, True, 1.5e-7]}
    template = mapping._compile(mapping._preset_source("standard"))
    assert render_payload(None, "standard", event) == mapping._render(template, event, "payload_render_failed")
