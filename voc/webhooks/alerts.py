"""Alert presets: a Slack incoming-webhook message (Block Kit) and a Microsoft Teams Adaptive Card, for
follow-ups and detractors' answers.

Customer text is data, never markup: Slack's mrkdwn gets &, < and > escaped (its only control characters:
"<!channel>" or "<https://evil|click>" in a comment then shows as typed), and the Teams card gets
Markdown's characters backslash-escaped (Adaptive Cards' TextBlock renders a Markdown subset) and its
"{{DATE(…)}}" functions broken up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlmodel import Session

from voc.config import get_settings
from voc.followups.rules import REASON_LABELS
from voc.ids import parse_row_id
from voc.surveys.experience import row_key
from voc.surveys.models import Answer, Response, Touchpoint

ALERT_PRESETS = ("slack", "teams")
ALERT_EVENT_TYPES = ("followup.created", "response.completed")
MAX_COMMENT = 2800  # Slack: a section's text is at most 3000 characters


def is_detractor(data: dict[str, Any]) -> bool:
    """A response.completed whose NPS is 0–6: the only answers an alert channel hears of directly."""
    nps = ((data.get("response") or {}).get("scores") or {}).get("nps")
    return isinstance(nps, int) and not isinstance(nps, bool) and 0 <= nps <= 6


def wants_event(preset: str, event_type: str, data: dict[str, Any]) -> bool:
    """Whether an endpoint with `preset` gets this event at all (alert channels: follow-ups and detractors)."""
    if preset not in ALERT_PRESETS:
        return True
    return event_type == "followup.created" or (event_type == "response.completed" and is_detractor(data))


def alert_context(session: Session, event: dict[str, Any]) -> dict[str, Any] | None:
    """What a followup.created payload leaves out (score, touchpoint, comment), read from its response."""
    if event.get("type") != "followup.created":
        return None
    followup = (event.get("data") or {}).get("followup") or {}
    response_id = parse_row_id(str(followup.get("response_id") or ""))
    response = session.get(Response, response_id) if response_id else None
    if response is None:
        return None
    texts = session.scalars(select(Answer.text).where(Answer.response_id == response.id, Answer.type == "text",
                                                      Answer.text.is_not(None)).order_by(Answer.id))
    return {"scores": {"nps": response.nps, "csat": response.csat, "ces": response.ces},
            "touchpoint": row_key(session, Touchpoint, response.touchpoint_id),
            "comment": next((text for text in texts if text and text.strip()), None)}


@dataclass
class AlertFacts:
    title: str
    score: str
    touchpoint: str
    contact: str
    comment: str | None
    link: str
    link_label: str


def _score(scores: dict[str, Any]) -> str:
    parts = [f"{name.upper()} {value:g}" if isinstance(value, float) else f"{name.upper()} {value}"
             for name, value in scores.items() if value is not None]
    return ", ".join(parts) or "no score"


def alert_facts(event: dict[str, Any], context: dict[str, Any] | None = None) -> AlertFacts:
    """The alert's contents, from the event (and, for a follow-up, from its response)."""
    data = event.get("data") or {}
    contact = data.get("contact") or {}
    external_id, crm = str(contact.get("external_id") or "?"), str(contact.get("crm") or "")
    base = get_settings().base_url.rstrip("/")
    if event.get("type") == "followup.created":
        followup = data.get("followup") or {}
        context = context or {}
        reason = str(followup.get("reason") or "")
        return AlertFacts(
            title=f"New follow-up: {REASON_LABELS.get(reason, reason or 'needs attention')}",
            score=_score(context.get("scores") or {}), touchpoint=str(context.get("touchpoint") or "—"),
            contact=f"{external_id} ({crm})" if crm else external_id, comment=context.get("comment"),
            # The case's own page: in a queue of thousands it may be on any page of the list.
            link=f"{base}/dashboard/followups/{quote(str(followup.get('id') or ''), safe='')}",
            link_label="Open the follow-up")
    response = data.get("response") or {}
    answers = response.get("answers") or []
    comment = next((a.get("value") for a in answers if isinstance(a, dict) and a.get("type") == "text"
                    and isinstance(a.get("value"), str) and a["value"].strip()), None)
    scores = response.get("scores") or {}
    title = "Detractor" if is_detractor(data) else "New response"
    return AlertFacts(
        title=f"{title}: {_score(scores)}", score=_score(scores), touchpoint=str(response.get("touchpoint") or "—"),
        contact=f"{external_id} ({crm})" if crm else external_id, comment=comment,
        link=f"{base}/dashboard/contacts/{quote(external_id, safe='')}?crm={quote(crm, safe='')}",
        link_label="Open the customer")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def slack_escape(text: str) -> str:
    """Text for Slack mrkdwn: &, < and > escaped, as Slack's formatting reference requires."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(event: dict[str, Any], context: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Slack incoming-webhook body: header, fields, the comment as a quote, a button to the dashboard."""
    facts = alert_facts(event, context)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(facts.title, 150), "emoji": False}},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*Score*\n{slack_escape(facts.score)}"},
            {"type": "mrkdwn", "text": f"*Touchpoint*\n{slack_escape(_cut(facts.touchpoint, 500))}"},
            {"type": "mrkdwn", "text": f"*Contact*\n{slack_escape(_cut(facts.contact, 500))}"},
        ]},
    ]
    if facts.comment:
        lines = slack_escape(_cut(facts.comment.strip(), MAX_COMMENT)).splitlines() or [""]
        # verbatim: no automatic links or mentions made from the customer's words.
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "verbatim": True,
                                                   "text": "\n".join(f">{line}" for line in lines)}})
    blocks.append({"type": "actions", "elements": [{
        "type": "button", "action_id": "voc_open", "url": facts.link,
        "text": {"type": "plain_text", "text": facts.link_label}}]})
    return {"text": slack_escape(f"{facts.title} — {facts.contact}"), "blocks": blocks}


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def teams_escape(text: str) -> str:
    """Text for an Adaptive Card TextBlock with its Markdown neutralised: every Markdown character
    backslash-escaped (CommonMark escapes, which Teams' renderer follows), and "{{" broken so a
    customer's "{{DATE(…)}}" stays text."""
    return _MARKDOWN.sub(r"\\\1", text).replace("{{", "{\u200b{")


def teams_message(event: dict[str, Any], context: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Teams incoming-webhook / Workflows body: a message with one Adaptive Card attachment."""
    facts = alert_facts(event, context)
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": teams_escape(facts.title), "size": "Large", "weight": "Bolder", "wrap": True},
        {"type": "FactSet", "facts": [
            {"title": "Score", "value": teams_escape(facts.score)},
            {"title": "Touchpoint", "value": teams_escape(_cut(facts.touchpoint, 500))},
            {"title": "Contact", "value": teams_escape(_cut(facts.contact, 500))},
        ]},
    ]
    if facts.comment:
        body.append({"type": "TextBlock", "text": teams_escape(_cut(facts.comment.strip(), MAX_COMMENT)),
                     "wrap": True, "isSubtle": True})
    card = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
            "version": "1.4", "body": body,
            "actions": [{"type": "Action.OpenUrl", "title": facts.link_label, "url": facts.link}]}
    return {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                                                "contentUrl": None, "content": card}]}
