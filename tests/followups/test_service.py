"""Follow-up cases opened by the rules when a response's analysis is stored."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session

from tests import factories as f
from voc.config import get_settings
from voc.followups.models import Followup
from voc.followups.rules import followup_reason
from voc.followups.service import open_followup_if_needed
from voc.sentiment.tasks import analyse_response
from voc.surveys.models import Response, Survey
from voc.surveys.responses import submit_response
from voc.webhooks.endpoints import create_endpoint
from voc.webhooks.models import WebhookMessage
from voc.webhooks.schemas import EndpointCreate

QUESTIONS = [{"id": "nps", "type": "nps", "prompt": "Recommend?", "required": True},
             {"id": "why", "type": "text", "prompt": "Why?"}]


def answer(engine, score, text, contact="c1") -> int:
    """A completed NPS response from `contact` (the touchpoint and survey are made on first use)."""
    with Session(engine) as session:
        if session.scalar(select(Survey.id)) is None:
            f.touchpoint(session)
            f.survey(session, questions=QUESTIONS, recontact_days=0)
        outcome = f.event(session, f"e-{contact}", contact=contact)
        response = submit_response(session, f.token_of(outcome.invitation.url),
                                   [("nps", score)] + ([("why", text)] if text else []))
        session.commit()
        return response.id


def subscribe(engine, monkeypatch) -> None:
    """An endpoint that takes followup.created (on a closed loopback port: nothing is sent anywhere)."""
    monkeypatch.setenv("VOC_WEBHOOK_ALLOW_PRIVATE", "true")
    get_settings.cache_clear()
    with Session(engine) as session:
        create_endpoint(session, EndpointCreate(url="http://127.0.0.1:9/hooks",
                                                event_types=["followup.created"]))
        session.commit()


def test_the_rules():
    assert followup_reason(Response(nps=6)) == "detractor"
    assert followup_reason(Response(nps=7)) is None
    assert followup_reason(Response(csat=2)) == "low_csat"
    assert followup_reason(Response(ces=1)) == "high_effort"
    assert followup_reason(Response(nps=10, analysis={"sentiment": {"compound": -0.7}})) == "negative_comment"
    assert followup_reason(Response(nps=10, analysis={"sentiment": {"compound": -0.4}})) is None
    assert followup_reason(Response(nps=9, analysis={"sentiment": None})) is None


def test_a_detractor_gets_one_case_and_the_crm_hears_of_it(engine, run_jobs, monkeypatch):
    subscribe(engine, monkeypatch)
    detractor = answer(engine, 3, "Late again and nobody called back.")
    promoter = answer(engine, 10, "Wonderful, friendly and quick. Thank you!", contact="c2")
    run_jobs()
    with Session(engine) as session:
        cases = list(session.scalars(select(Followup)))
        assert [(c.response_id, c.reason, c.status) for c in cases] == [(detractor, "detractor", "open")]
        messages = list(session.scalars(select(WebhookMessage).where(WebhookMessage.event_type
                                                                     == "followup.created")))
        assert len(messages) == 1
        assert messages[0].payload["data"] == {
            "contact": {"external_id": "c1", "crm": "default"},
            "followup": {"id": str(cases[0].id), "reason": "detractor", "response_id": str(detractor),
                         "status": "open"}}
        assert session.get(Response, promoter).analysis is not None

    # The analysis job run again: still one case, one message.
    with Session(engine) as session:
        analyse_response(session, {"response_id": detractor})
        open_followup_if_needed(session, session.get(Response, detractor))
        session.commit()
    with Session(engine) as session:
        assert session.scalar(select(func.count(Followup.id))) == 1
        assert session.scalar(select(func.count(WebhookMessage.id))
                              .where(WebhookMessage.event_type == "followup.created")) == 1


def test_a_happy_score_with_an_angry_comment_opens_a_case(engine, run_jobs):
    answer(engine, 10, "Terrible, awful, the worst service I have ever had. Disgusting and rude.")
    run_jobs()
    with Session(engine) as session:
        assert [c.reason for c in session.scalars(select(Followup))] == ["negative_comment"]
