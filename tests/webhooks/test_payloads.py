"""Event data built from stored rows has the documented shapes, the summary adds up, and each
invitation is announced exactly once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlmodel import Session

from tests import factories
from tests.webhooks.conftest import set_env
from voc.db import utcnow
from voc.jobs.models import Job
from voc.jobs.queue import enqueue
from voc.surveys.experience import DIMENSIONS
from voc.surveys.models import Contact, Invitation, Response
from voc.surveys.responses import submit_response
from voc.webhooks import payloads
from voc.webhooks.mapping import render_payload, validate_template
from voc.webhooks.models import WebhookMessage
from voc.webhooks.outbox import publish
from voc.webhooks.samples import sample_event

QUESTIONS = [
    {"id": "nps", "type": "nps", "prompt": "Recommend us?", "required": True},
    {"id": "csat", "type": "csat", "prompt": "Satisfied?"},
    {"id": "ces", "type": "ces", "prompt": "Easy?"},
    {"id": "why", "type": "text", "prompt": "Why?"},
]


def shape(value):
    """Keys all the way down, and the kind of each leaf (int and float are both numbers)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "bool"
    return "number" if isinstance(value, int | float) else type(value).__name__


def same_shape(real, sample, path="data"):
    if real is None or sample is None:  # null is allowed wherever the sample has a value, and back
        return
    if isinstance(sample, dict):
        assert isinstance(real, dict) and set(real) == set(sample), (path, set(real) ^ set(sample))
        for key in sample:
            same_shape(real[key], sample[key], f"{path}.{key}")
    elif isinstance(sample, list) and sample and real:
        same_shape(real[0], sample[0], f"{path}[0]")
    else:
        assert shape(real) == shape(sample), (path, real, sample)


def respond(session, n, nps, comment=None, *, touchpoint="order_delivered", csat=None, ces=None, analysis=None):
    outcome = factories.event(session, f"evt-{n}", touchpoint=touchpoint, contact="C-1")
    answers = [("nps", nps)] + [(q, v) for q, v in (("csat", csat), ("ces", ces), ("why", comment)) if v]
    response = submit_response(session, factories.token_of(outcome.invitation.url), answers)
    if analysis:
        response.analysis, response.sentiment = analysis, analysis["sentiment"]["compound"]
        response.mismatch = False
        session.add(response)
    session.flush()
    return response


def analysis(compound, **valences):
    return {"sentiment": {"compound": compound, "label": "positive" if compound > 0 else "negative"},
            "dimensions": {name: {"salience": 0.5, "valence": v} if v is not None else None
                           for name, v in {"sense": None, "feel": None, "think": None, "act": None, "relate": None,
                                           **valences}.items()},
            "themes": ["delivery speed"], "spans": [{"start": 0, "end": 4, "dimension": "feel", "valence": 0.3}]}


def _surveys(session):
    factories.touchpoint(session)
    factories.touchpoint(session, "ticket_closed", stage="support")
    factories.survey(session, questions=QUESTIONS, recontact_days=0)
    factories.survey(session, "support", touchpoint="ticket_closed", questions=QUESTIONS, recontact_days=0)


def test_real_event_data_has_the_sample_shapes_and_renders_with_every_preset(session, monkeypatch):
    set_env(monkeypatch, contact_cooldown_days="0")
    _surveys(session)
    response = respond(session, 1, 9, "Quick and friendly", csat=5, ces=2, analysis=analysis(0.6, feel=0.6))
    invitation = session.get(Invitation, response.invitation_id)
    contact = session.get(Contact, response.contact_id)
    real = {
        "invitation.created": payloads.invitation_created_data(session, invitation),
        "response.completed": payloads.response_completed_data(session, response),
        "response.analyzed": payloads.response_analyzed_data(session, response),
        "contact.experience_updated": payloads.experience_updated_data(session, contact),
    }
    for event_type, data in real.items():
        same_shape(data, sample_event(event_type)["data"])
        event = {"type": event_type, "timestamp": "2026-01-01T00:00:00Z", "data": data}
        for preset in ("standard", "hubspot-contact-properties", "salesforce-sobject"):
            assert render_payload(None, preset, event)
    assert real["response.completed"]["response"]["answers"][-1] == {
        "question_id": "why", "type": "text", "value": "Quick and friendly"}
    assert "spans" not in real["response.analyzed"]["analysis"]
    assert real["invitation.created"]["invitation"]["url"].startswith("http://testserver/s/")

    # A template that passed validation on the samples works on real data too.
    template = '{"who": {{ data.contact.external_id|tojson }}, "rid": {{ ("r-" ~ data.response.id)|tojson }}}'
    validate_template(template, "standard", ["response.completed"])
    body = render_payload(template, "standard", {"type": "response.completed", "timestamp": "x",
                                                 "data": real["response.completed"]})
    assert body == f'{{"who":"C-1","rid":"r-{response.id}"}}'.encode()


def test_experience_summary_latest_means_dimensions_and_trend(session, monkeypatch):
    set_env(monkeypatch, contact_cooldown_days="0")
    _surveys(session)
    session.add(Contact(external_id="C-1"))

    def contact_summary():
        return payloads.experience_summary(session, session.scalars(select(Contact)).one())

    empty = contact_summary()
    assert empty["response_count"] == 0 and empty["trend"] is None and empty["latest_nps"] is None

    respond(session, 1, 3, "Late and rude", csat=2, ces=6, analysis=analysis(-0.7, act=-0.8, relate=-0.6))
    respond(session, 2, 6, csat=3)
    assert contact_summary()["trend"] == "improving"
    respond(session, 3, 10, "Lovely", touchpoint="ticket_closed", csat=5, ces=1, analysis=analysis(0.8, act=0.4))
    summary = contact_summary()
    assert summary["latest_nps"] == 10 and summary["nps_category"] == "promoter"
    assert summary["csat"] == round((2 + 3 + 5) / 3, 6) and summary["ces"] == 3.5
    assert summary["latest_sentiment"] == {"compound": 0.8, "label": "positive"}
    assert summary["dimensions"] == {"sense": None, "feel": None, "think": None, "act": -0.2, "relate": -0.6}
    assert summary["last_touchpoint"] == "ticket_closed" and summary["response_count"] == 3
    assert summary["trend"] == "improving"

    respond(session, 4, 0, "Never again", analysis=analysis(-0.9))
    assert contact_summary()["trend"] == "declining" and contact_summary()["nps_category"] == "detractor"


def test_each_invitation_is_announced_exactly_once(engine, run_jobs, make_endpoint):
    make_endpoint(event_types=["invitation.created"])
    with Session(engine, expire_on_commit=False) as session:
        factories.touchpoint(session)
        factories.survey(session, trigger={"delay_minutes": 60})
        factories.touchpoint(session, "ticket_closed", stage="support")
        factories.survey(session, "support", touchpoint="ticket_closed")
        later = factories.event(session, "evt-later", contact="C-1")
        now = factories.event(session, "evt-now", touchpoint="ticket_closed", contact="C-2")
        session.commit()
    run_jobs()

    def announced():
        with Session(engine) as session:
            return [m.payload["data"]["invitation"]["id"] for m in session.scalars(select(WebhookMessage))
                    if m.event_type == "invitation.created"]

    assert announced() == [str(now.invitation.id)]  # the delayed one is not usable yet
    with Session(engine) as session:
        # The announce job ran twice (a worker lost its lease): still one message.
        enqueue(session, "invitation.announce", {"invitation_id": now.invitation.id})
        session.execute(update(Job).where(Job.kind == "invitation.announce").values(run_at=utcnow()))
        session.commit()
    run_jobs()
    assert sorted(announced()) == sorted([str(now.invitation.id), str(later.invitation.id)])
    with Session(engine) as session:
        assert session.get(Invitation, later.invitation.id).status == "pending"


def test_an_expired_invitation_is_not_announced(engine, run_jobs, make_endpoint):
    make_endpoint(event_types=["invitation.created"])
    with Session(engine, expire_on_commit=False) as session:
        factories.touchpoint(session)
        factories.survey(session)
        factories.event(session)
        session.execute(update(Invitation).values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    run_jobs()
    with Session(engine) as session:
        assert session.scalars(select(WebhookMessage)).all() == []


def test_publish_skips_work_when_nobody_subscribes(session):
    def expensive():
        raise AssertionError("the data of an event nobody subscribed to was built")

    assert publish(session, "contact.experience_updated", expensive) == []
    assert session.scalars(select(Response)).all() == []


def test_analysis_events_are_published_once_per_analyser_version(session, make_endpoint):
    from voc.webhooks.outbox import publish_analysis_events

    make_endpoint(event_types=["response.analyzed", "contact.experience_updated"])
    _surveys(session)
    response = respond(session, 1, 8, "Fine", analysis=analysis(0.3, feel=0.3))
    response.analyser_version = "1"
    first = publish_analysis_events(session, response)
    assert [m.event_type for m in first] == ["response.analyzed", "contact.experience_updated"]
    assert publish_analysis_events(session, response) == []  # the analysis job ran twice
    response.analyser_version = "2"
    assert len(publish_analysis_events(session, response)) == 2  # re-analysed by a newer analyser


def test_a_response_without_text_keeps_the_latest_expressed_sentiment(session, monkeypatch):
    set_env(monkeypatch, contact_cooldown_days="0")
    _surveys(session)
    respond(session, 1, 9, "Lovely", analysis=analysis(0.8))
    silent = respond(session, 2, 10)
    silent.analysis = {"sentiment": None, "dimensions": dict.fromkeys(DIMENSIONS), "themes": [],
                       "spans": [], "mismatch": False}
    session.add(silent)
    summary = payloads.experience_summary(session, session.scalars(select(Contact)).one())
    assert summary["latest_sentiment"] == {"compound": 0.8, "label": "positive"}
    assert summary["latest_nps"] == 10 and summary["response_count"] == 2
