"""`voc demo`: a realistic workspace loaded through the same service functions as real traffic.

About 8 touchpoints along a retail journey, 3 surveys (relationship NPS, post-delivery CSAT,
support CES), ~2,000 contacts and ~5,000 responses over the last 90 days, with customers' own
words. A fixed seed gives the same data every time; a few stories are planted for the
dashboard to find (deliveries got worse in the last month, support is effortful, billing confuses)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from voc.db import get_engine, session_scope, utcnow
from voc.demo.texts import comment_for
from voc.jobs.worker import Worker
from voc.surveys import service
from voc.surveys.events import report_event
from voc.surveys.models import Survey
from voc.surveys.responses import submit_response
from voc.surveys.schemas import EventIn, SurveyCreate, TouchpointCreate
from voc.surveys.tokens import token_for

TOUCHPOINTS = [
    ("ad_campaign", "Saw a campaign", "awareness", "marketing", 0.10),
    ("website_visit", "Browsed the shop", "consideration", "web", 0.15),
    ("checkout", "Checked out", "purchase", "web", 0.25),
    ("order_delivered", "Order delivered", "delivery", "logistics", -0.05),
    ("first_use", "First use of the product", "onboarding", "product", 0.20),
    ("app_usage", "Used the app", "usage", "app", 0.10),
    ("support_ticket_closed", "Support ticket closed", "support", "support", -0.25),
    ("invoice_sent", "Invoice sent", "billing", "email", -0.15),
]
# Where in a customer's journey each touchpoint tends to fall (days after their first contact).
_JOURNEY_OFFSET = {"ad_campaign": 0, "website_visit": 2, "checkout": 4, "order_delivered": 7, "first_use": 9,
                   "app_usage": 20, "support_ticket_closed": 25, "invoice_sent": 32}

_RECURRING = ("order_delivered", "app_usage", "support_ticket_closed", "invoice_sent")

SURVEYS = [
    {"key": "relationship_nps", "title": "How are we doing?", "status": "active", "recontact_days": 30,
     "questions": [
         {"id": "nps", "type": "nps", "prompt": "How likely are you to recommend us to a friend or colleague?",
          "required": True},
         {"id": "reason", "type": "text", "prompt": "What is the main reason for your score?"},
         {"id": "plan", "type": "single_choice", "prompt": "Which plan are you on?",
          "options": ["Basic", "Plus", "Family"], "attribute": "plan"},
         {"id": "improve", "type": "multi_choice", "prompt": "What should we improve first?",
          "options": ["Prices", "Delivery", "App", "Support", "Product range"],
          "show_if": {"question_id": "nps", "op": "lte", "value": 8}},
     ],
     "triggers": [{"touchpoint": t, "sample_rate": 0.6} for t in
                  ("ad_campaign", "website_visit", "checkout", "first_use", "app_usage", "invoice_sent")]},
    {"key": "post_delivery_csat", "title": "Your delivery", "status": "active", "recontact_days": 14,
     "questions": [
         {"id": "csat", "type": "csat", "prompt": "How satisfied are you with your delivery?", "required": True},
         {"id": "comment", "type": "text", "prompt": "Anything you would like to tell us?"},
         {"id": "problems", "type": "multi_choice", "prompt": "Did anything go wrong?",
          "options": ["Late", "Damaged", "Wrong item", "Courier was rude", "Nothing"]},
     ],
     "triggers": [{"touchpoint": "order_delivered", "sample_rate": 0.9,
                   "conditions": [{"attribute": "order_value", "op": "gte", "value": 10}]}]},
    {"key": "support_ces", "title": "Your support request", "status": "active", "recontact_days": 14,
     "questions": [
         {"id": "ces", "type": "ces", "prompt": "How easy was it to get your issue resolved?", "required": True},
         {"id": "csat", "type": "csat", "prompt": "How satisfied are you with the help you got?"},
         {"id": "comment", "type": "text", "prompt": "What could we have done better?"},
     ],
     "triggers": [{"touchpoint": "support_ticket_closed", "sample_rate": 1.0, "delay_minutes": 30}]},
]


@dataclass
class DemoSummary:
    touchpoints: int
    surveys: int
    contacts: int
    events: int
    invitations: int
    responses: int
    jobs_run: int

    def __str__(self) -> str:
        return (f"demo loaded: {self.touchpoints} touchpoints, {self.surveys} surveys, {self.contacts} contacts, "
                f"{self.events} events, {self.invitations} invitations, {self.responses} responses "
                f"({self.jobs_run} jobs run)")


def database_is_empty(engine: Engine | None = None) -> bool:
    """True when no survey exists yet (`make run` loads the demo only then)."""
    with Session(engine or get_engine()) as session:
        return not session.scalar(select(func.count(Survey.id)))


def _scores(rng: random.Random, mood: float) -> dict[str, int]:
    def scale(centre: float, spread: float, low: int, high: int) -> int:
        return max(low, min(high, round(centre + spread * mood + rng.gauss(0, spread * 0.35))))

    return {"nps": scale(7.4, 3.2, 0, 10), "csat": scale(3.7, 1.6, 1, 5), "ces": scale(4.6, 2.4, 1, 7)}


def _mood(rng: random.Random, base: float, touchpoint: str, effect: float, days_ago: float) -> float:
    mood = base + effect + rng.gauss(0, 0.35)
    if touchpoint == "order_delivered" and days_ago < 30:  # a carrier change went wrong last month
        mood -= 0.45
    if touchpoint == "app_usage" and days_ago < 45:  # the new app release is liked
        mood += 0.25
    return max(-1.0, min(1.0, mood))


def _answers(rng: random.Random, survey_key: str, touchpoint: str, mood: float) -> list[tuple[str, object]]:
    scores, text = _scores(rng, mood), comment_for(rng, touchpoint, mood)
    if survey_key == "relationship_nps":
        answers: list[tuple[str, object]] = [("nps", scores["nps"]), ("reason", text)]
        if scores["nps"] <= 8:
            answers.append(("improve", rng.sample(["Prices", "Delivery", "App", "Support", "Product range"],
                                                  rng.randint(1, 2))))
        return answers
    if survey_key == "post_delivery_csat":
        problems = ["Nothing"] if scores["csat"] >= 4 else rng.sample(["Late", "Damaged", "Wrong item"], 1)
        return [("csat", scores["csat"]), ("comment", text), ("problems", problems)]
    return [("ces", scores["ces"]), ("csat", scores["csat"]), ("comment", text)]


def load_demo(seed: int = 7, contacts: int = 2000, responses: int = 5000, days: int = 90,
              engine: Engine | None = None) -> DemoSummary:
    """Create the demo workspace and answer its invitations, then run the jobs that follow."""
    engine = engine or get_engine()
    rng = random.Random(seed)
    now = utcnow().replace(microsecond=0)
    start = now - timedelta(days=days)
    with session_scope(engine) as session:
        for key, name, stage, channel, _ in TOUCHPOINTS:
            service.create_touchpoint(session, TouchpointCreate(key=key, name=name, stage=stage, channel=channel))
        for body in SURVEYS:
            service.create_survey(session, SurveyCreate.model_validate(body))

    effects = {key: effect for key, *_, effect in TOUCHPOINTS}
    # Each customer walks part of the journey, some of it more than once, at their own pace.
    events: list[tuple[float, int, str, dict]] = []
    for number in range(contacts):
        first = rng.uniform(-30, days - 5)
        pace = rng.uniform(0.8, 2.5)
        for touchpoint, offset in _JOURNEY_OFFSET.items():
            repeats = 1 + (rng.random() < 0.4) + (touchpoint in _RECURRING) * rng.randint(1, 3)
            for repeat in range(repeats):
                day = first + offset * pace + repeat * rng.uniform(10, 25)
                if 0 <= day < days and rng.random() < 0.8:
                    attrs = {"order_value": round(rng.lognormvariate(3.6, 0.8), 2)} \
                        if touchpoint in ("checkout", "order_delivered") else {}
                    events.append((day, number, touchpoint, attrs))
    events.sort(key=lambda e: (e[0], e[1]))
    base_moods = [max(-1.0, min(1.0, rng.gauss(0.25, 0.45))) for _ in range(contacts)]
    plans = [rng.choice(["Basic", "Plus", "Family", None]) for _ in range(contacts)]
    answer_rate = 0.85

    counts = {"events": 0, "invitations": 0, "responses": 0}
    # Commit in batches: one long session would drag an ever larger identity map through every flush.
    for batch_start in range(0, len(events), 250):
        if counts["responses"] >= responses:
            break
        with session_scope(engine) as session:
            for index in range(batch_start, min(batch_start + 250, len(events))):
                day, number, touchpoint, attrs = events[index]
                if counts["responses"] >= responses:
                    break
                occurred = start + timedelta(days=day)
                contact = {"external_id": f"CUS-{number + 1:05d}", "crm": "demo-crm",
                           "email": f"customer{number + 1}@example.com",
                           "attributes": {"plan": plans[number]} if plans[number] else {}}
                outcome = report_event(session, EventIn.model_validate(
                    {"event_id": f"demo-{index}", "touchpoint": touchpoint, "contact": contact,
                     "occurred_at": occurred, "attributes": attrs}))
                counts["events"] += 1
                if outcome.invitation is None:
                    continue
                counts["invitations"] += 1
                answered_at = outcome.invitation.available_at + timedelta(minutes=rng.expovariate(1 / 240))
                if rng.random() > answer_rate or answered_at >= min(now, outcome.invitation.expires_at):
                    continue
                mood = _mood(rng, base_moods[number], touchpoint, effects[touchpoint], (now - answered_at).days)
                token = token_for(_nonce(session, outcome.invitation.id), _secret())
                submit_response(session, token, _answers(rng, outcome.survey or "", touchpoint, mood),
                                now=answered_at)
                counts["responses"] += 1
    jobs_run = Worker(engine, batch=200).run_until_idle()
    return DemoSummary(len(TOUCHPOINTS), len(SURVEYS), contacts, counts["events"], counts["invitations"],
                       counts["responses"], jobs_run)


def _nonce(session: Session, invitation_id: int) -> str:
    from voc.surveys.models import Invitation

    return session.get(Invitation, invitation_id).token_nonce


def _secret() -> str:
    from voc.config import get_settings

    return get_settings().secret_key


__all__ = ["DemoSummary", "database_is_empty", "load_demo", "math"]
