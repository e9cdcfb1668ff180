"""Slack and Teams alert presets: follow-ups and detractors only, customer text escaped for each format,
a button to the dashboard at VOC_BASE_URL."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlmodel import Session

from tests import factories as f
from tests.webhooks.helpers import drain, publish
from voc.surveys.responses import submit_response
from voc.webhooks.alerts import slack_escape, slack_message, teams_escape, teams_message
from voc.webhooks.mapping import render_payload
from voc.webhooks.models import WebhookMessage
from voc.webhooks.samples import sample_event

QUESTIONS = [{"id": "nps", "type": "nps", "prompt": "Recommend?", "required": True},
             {"id": "why", "type": "text", "prompt": "Why?"}]
HOSTILE = ("<!channel> late & <https://evil.example|click> > **bold** [x](https://evil.example) "
           "{{DATE(2017-02-14T06:08:39Z)}}")


def detractor_event(text: str = HOSTILE) -> dict:
    event = sample_event("response.completed")
    event["data"]["response"]["scores"]["nps"] = 3
    event["data"]["response"]["answers"][2]["value"] = text
    return event


def test_slack_blocks_escape_the_comment_and_link_to_the_dashboard():
    body = slack_message(detractor_event())
    header, fields, comment, actions = body["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": "Detractor: NPS 3, CES 2",
                                                 "emoji": False}}
    assert [f["text"] for f in fields["fields"]] == ["*Score*\nNPS 3, CES 2", "*Touchpoint*\norder_delivered",
                                                     "*Contact*\n0035e00000Xy7AbQAJ (salesforce)"]
    text = comment["text"]["text"]
    assert text.startswith(">&lt;!channel&gt; late &amp; &lt;https://evil.example|click&gt; &gt; **bold**")
    assert "<" not in text and comment["text"]["verbatim"] is True
    [button] = actions["elements"]
    assert button["url"] == "http://testserver/dashboard/contacts/0035e00000Xy7AbQAJ?crm=salesforce"
    assert "<" not in body["text"]


def test_slack_escaping_is_the_three_characters_slack_names():
    assert slack_escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    multi = slack_message(detractor_event("first line\nsecond & last"))["blocks"][2]["text"]["text"]
    assert multi == ">first line\n>second &amp; last"


def test_teams_card_neutralises_markdown_in_the_comment():
    body = teams_message(detractor_event())
    [attachment] = body["attachments"]
    assert body["type"] == "message" and attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    title, facts, comment = card["body"]
    assert comment["type"] == "TextBlock" and comment["wrap"] is True
    assert "\\*\\*bold\\*\\*" in comment["text"] and "\\[x\\]\\(https://evil\\.example\\)" in comment["text"]
    assert "{{" not in comment["text"]
    assert {f["title"] for f in facts["facts"]} == {"Score", "Touchpoint", "Contact"}
    assert card["actions"][0]["type"] == "Action.OpenUrl"
    assert teams_escape("1. - # x") == "1\\. \\- \\# x"


def test_followup_alerts_read_the_score_and_comment_from_the_response(engine, receiver, make_endpoint, run_jobs):
    make_endpoint(preset="slack", event_types=["followup.created", "response.completed"])
    with Session(engine) as session:
        f.touchpoint(session)
        f.survey(session, questions=QUESTIONS, recontact_days=0)
        for contact, score, text in (("c1", 3, "Late & rude <b>driver</b>."), ("c2", 10, "Lovely, quick and kind.")):
            outcome = f.event(session, f"e-{contact}", contact=contact)
            submit_response(session, f.token_of(outcome.invitation.url), [("nps", score), ("why", text)])
        session.commit()
    run_jobs()
    drain(engine)

    with Session(engine) as session:
        sent = [m.event_type for m in session.scalars(select(WebhookMessage).order_by(WebhookMessage.id))]
    assert sent == ["response.completed", "followup.created"]  # the promoter's answer is not an alert
    detractor, followup = (r.json for r in receiver.received)
    assert detractor["blocks"][0]["text"]["text"] == "Detractor: NPS 3"
    assert followup["blocks"][0]["text"]["text"] == "New follow-up: Detractor (NPS 0–6)"
    fields = [f["text"] for f in followup["blocks"][1]["fields"]]
    assert fields[:2] == ["*Score*\nNPS 3", "*Touchpoint*\norder_delivered"]
    assert followup["blocks"][2]["text"]["text"] == ">Late &amp; rude &lt;b&gt;driver&lt;/b&gt;."
    case_link = followup["blocks"][3]["elements"][0]["url"]
    assert case_link.startswith("http://testserver/dashboard/followups/")
    assert case_link.rsplit("/", 1)[-1].isdigit()  # the case's own page (GET /dashboard/followups/{id})


def test_alert_presets_take_only_followups_and_responses(client, admin_headers, receiver):
    refused = client.post("/api/v1/webhooks", headers=admin_headers, json={
        "url": receiver.url, "preset": "teams", "event_types": ["contact.experience_updated"]})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "event_type_not_supported_by_preset"


def test_a_test_event_renders_even_for_a_promoter(engine, receiver, make_endpoint):
    make_endpoint(preset="teams", event_types=["response.completed"])
    assert publish(engine, "response.completed") == []  # the sample is a promoter: no alert
    body = json.loads(render_payload(None, "teams", sample_event("response.completed")))
    assert body["attachments"][0]["content"]["body"][0]["text"].startswith("New response")
