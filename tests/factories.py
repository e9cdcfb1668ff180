"""Valid objects in one line, through the same service functions as real traffic."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from voc.surveys import service
from voc.surveys.events import report_event
from voc.surveys.schemas import EventIn, SurveyCreate, TouchpointCreate

NPS_QUESTIONS: list[dict[str, Any]] = [
    {"id": "nps", "type": "nps", "prompt": "How likely are you to recommend us to a friend?", "required": True},
    {"id": "why", "type": "text", "prompt": "What is the main reason for your score?"},
]


def touchpoint(session: Session, key: str = "order_delivered", stage: str = "delivery", **kw: Any):
    return service.create_touchpoint(session, TouchpointCreate(key=key, name=kw.pop("name", key.title()),
                                                               stage=stage, **kw))


def survey(session: Session, key: str = "post_delivery", touchpoint: str = "order_delivered",
           questions: list[dict] | None = None, status: str = "active", trigger: dict | None = None, **kw: Any):
    body = {"key": key, "title": kw.pop("title", "How did we do?"), "status": status,
            "questions": questions or NPS_QUESTIONS,
            "triggers": [{"touchpoint": touchpoint, **(trigger or {})}], **kw}
    return service.create_survey(session, SurveyCreate.model_validate(body))


def event(session: Session, event_id: str = "evt-1", touchpoint: str = "order_delivered",
          contact: str = "crm-1", **kw: Any):
    contact_body = {"external_id": contact, **kw.pop("contact_fields", {})}
    return report_event(session, EventIn.model_validate({"event_id": event_id, "touchpoint": touchpoint,
                                                         "contact": contact_body, **kw}))


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def one_click(client: Any, link: str, question: str, value: Any) -> Any:
    """A score clicked in an e-mail: the page shows it selected, stores nothing, and its script sends the
    step at once; done here as the script does it. Returns the answer to that POST."""
    page = client.get(f"{link}?q={question}&v={value}")
    assert page.status_code == 200 and "data-voc-autosubmit" in page.text
    return client.post(link.split("?")[0], data={"step": question, f"q_{question}": str(value), "action": "next"})
