"""`voc demo`: a realistic workspace loaded through the same service functions as real traffic.

About 8 touchpoints along a retail journey, 3 surveys (relationship NPS, post-delivery CSAT,
support CES) written in English and German, ~2,000 contacts and ~5,000 responses over the last six
months (so every 90-day period has a previous one to compare with), with customers' own words.
About 8% of the customers who start a survey leave it part-way (saved step by step, as the hosted
page does), more often at a question that asks them to write; others open the link and answer nothing.
A CX team has worked the follow-up cases: older ones are resolved with a note, recent ones are open.
A fixed seed gives the same data every time; a few stories are planted for the dashboard to find:
deliveries (`order_delivered`) got worse month after month since a carrier change, steepest in the last
six weeks; the new app release is liked; support is effortful; billing confuses."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from voc.auth.users import create_user
from voc.db import get_engine, session_scope, utcnow
from voc.demo.texts import comment_for
from voc.followups import priority
from voc.followups.models import Followup, FollowupNote
from voc.followups.service import resolve_followups
from voc.jobs.worker import Worker
from voc.surveys import partials, service
from voc.surveys.events import report_event
from voc.surveys.models import Response, Survey, Touchpoint
from voc.surveys.responses import load_invitation, mark_opened, submit_response
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

THANK_YOU = ("Thank you! Every answer is read by our customer team.",
             "Danke! Jede Antwort wird von unserem Kundenteam gelesen.")
SURVEYS = [
    {"key": "relationship_nps", "title": "How are we doing?", "status": "active", "recontact_days": 30,
     "thank_you": THANK_YOU[0],
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
     "translations": {"de": {
         "title": "Wie machen wir uns?", "thank_you": THANK_YOU[1],
         "questions": {
             "nps": {"prompt": "Wie wahrscheinlich ist es, dass Sie uns einem Freund oder Kollegen empfehlen?"},
             "reason": {"prompt": "Was ist der wichtigste Grund für Ihre Bewertung?"},
             "plan": {"prompt": "Welchen Tarif haben Sie?", "options": ["Basis", "Plus", "Familie"]},
             "improve": {"prompt": "Was sollten wir zuerst verbessern?",
                         "options": ["Preise", "Lieferung", "App", "Kundenservice", "Sortiment"]}}}},
     "triggers": [{"touchpoint": t, "sample_rate": 0.6} for t in
                  ("ad_campaign", "website_visit", "checkout", "first_use", "app_usage", "invoice_sent")]},
    {"key": "post_delivery_csat", "title": "Your delivery", "status": "active", "recontact_days": 14,
     "thank_you": THANK_YOU[0],
     "questions": [
         {"id": "csat", "type": "csat", "prompt": "How satisfied are you with your delivery?", "required": True},
         {"id": "comment", "type": "text", "prompt": "Anything you would like to tell us?"},
         {"id": "problems", "type": "multi_choice", "prompt": "Did anything go wrong?",
          "options": ["Late", "Damaged", "Wrong item", "Courier was rude", "Nothing"]},
     ],
     "translations": {"de": {
         "title": "Ihre Lieferung", "thank_you": THANK_YOU[1],
         "questions": {
             "csat": {"prompt": "Wie zufrieden sind Sie mit Ihrer Lieferung?"},
             "comment": {"prompt": "Möchten Sie uns noch etwas mitteilen?"},
             "problems": {"prompt": "Ist etwas schiefgelaufen?",
                          "options": ["Verspätet", "Beschädigt", "Falscher Artikel", "Der Zusteller war unhöflich",
                                      "Nichts"]}}}},
     "triggers": [{"touchpoint": "order_delivered", "sample_rate": 0.9,
                   "conditions": [{"attribute": "order_value", "op": "gte", "value": 10}]}]},
    {"key": "support_ces", "title": "Your support request", "status": "active", "recontact_days": 14,
     "thank_you": THANK_YOU[0],
     "questions": [
         {"id": "ces", "type": "ces", "prompt": "How easy was it to get your issue resolved?", "required": True},
         {"id": "csat", "type": "csat", "prompt": "How satisfied are you with the help you got?"},
         {"id": "comment", "type": "text", "prompt": "What could we have done better?"},
     ],
     "translations": {"de": {
         "title": "Ihre Supportanfrage", "thank_you": THANK_YOU[1],
         "questions": {
             "ces": {"prompt": "Wie einfach war es, Ihr Anliegen zu lösen?"},
             "csat": {"prompt": "Wie zufrieden sind Sie mit der Hilfe, die Sie bekommen haben?"},
             "comment": {"prompt": "Was hätten wir besser machen können?"}}}},
     "triggers": [{"touchpoint": "support_ticket_closed", "sample_rate": 1.0, "delay_minutes": 30}]},
]
# The touchpoint whose experience got worse over the months (see _mood): trends and drivers show it.
DECLINING_TOUCHPOINT = "order_delivered"
# Of the customers who start a survey, the share who leave it part-way (the funnel's drop-off).
PARTIAL_SHARE = 0.08
# Of those who do not answer, the share who opened the link all the same (opened, never started).
OPENED_ONLY_SHARE = 0.35
# How likely a customer who goes on leaves at a question of each kind: writing is what puts people off.
_LEAVE_AT = {"text": 0.6, "multi_choice": 0.3, "single_choice": 0.2}
_LEAVE_OTHERWISE = 0.15
# Responses per event reported before any is seen (sampling, quarantine, answer rate): a first guess for
# thinning the events so that the response budget lasts to the last day.
_RESPONSES_PER_EVENT = 0.3


@dataclass
class DemoSummary:
    touchpoints: int
    surveys: int
    contacts: int
    events: int
    invitations: int
    responses: int
    jobs_run: int
    partial: int = 0

    def __str__(self) -> str:
        return (f"demo loaded: {self.touchpoints} touchpoints, {self.surveys} surveys, {self.contacts} contacts, "
                f"{self.events} events, {self.invitations} invitations, {self.responses} responses, "
                f"{self.partial} left part-way ({self.jobs_run} jobs run)")


def database_is_empty(engine: Engine | None = None) -> bool:
    """True when no survey exists yet (`make run` loads the demo only then)."""
    with Session(engine or get_engine()) as session:
        return not session.scalar(select(func.count(Survey.id)))


def _scores(rng: random.Random, mood: float) -> dict[str, int]:
    def scale(centre: float, spread: float, low: int, high: int) -> int:
        return max(low, min(high, round(centre + spread * mood + rng.gauss(0, spread * 0.35))))

    return {"nps": scale(7.4, 3.2, 0, 10), "csat": scale(3.7, 1.6, 1, 5), "ces": scale(4.6, 2.4, 1, 7)}


def _mood(rng: random.Random, base: float, touchpoint: str, effect: float, days_ago: float, days: int) -> float:
    mood = base + effect + rng.gauss(0, 0.35)
    if touchpoint == DECLINING_TOUCHPOINT:
        # A carrier change at the start: deliveries slipped a little more every month, then fell off.
        elapsed = max(0.0, min(1.0, 1 - days_ago / days))
        mood -= 0.45 * elapsed + (0.25 if days_ago < 45 else 0.0)
    if touchpoint == "app_usage" and days_ago < 45:  # the new app release is liked
        mood += 0.25
    return max(-1.0, min(1.0, mood))


def _answers(rng: random.Random, survey_key: str, touchpoint: str, mood: float,
             plan_known: bool) -> list[tuple[str, object]]:
    """What the customer answers, in the order the survey asks (a question they skip is left out)."""
    scores, text = _scores(rng, mood), comment_for(rng, touchpoint, mood)
    if survey_key == "relationship_nps":
        answers: list[tuple[str, object]] = [("nps", scores["nps"]), ("reason", text)]
        if not plan_known and rng.random() < 0.6:
            answers.append(("plan", rng.choice(["Basic", "Plus", "Family"])))
        if scores["nps"] <= 8:
            answers.append(("improve", rng.sample(["Prices", "Delivery", "App", "Support", "Product range"],
                                                  rng.randint(1, 2))))
        return answers
    if survey_key == "post_delivery_csat":
        problems = ["Nothing"] if scores["csat"] >= 4 else rng.sample(["Late", "Damaged", "Wrong item"], 1)
        return [("csat", scores["csat"]), ("comment", text), ("problems", problems)]
    return [("ces", scores["ces"]), ("csat", scores["csat"]), ("comment", text)]


def _leave_part_way(session: Session, rng: random.Random, token: str, given: list[tuple[str, object]],
                    now: datetime) -> None:
    """Answer step by step as on the hosted page and leave before sending: the first step always (else
    nothing was started), each later one unless the customer gives up at it (more often at a text box)."""
    opened = load_invitation(session, token, now)
    mark_opened(session, opened, now)
    values = dict(given)
    question = partials.resume_step(opened)
    first = True
    while question is not None:
        if not first and rng.random() < _LEAVE_AT.get(question["type"], _LEAVE_OTHERWISE):
            return
        if isinstance(partials.save_step(session, opened, question, values.get(question["id"]), now), dict):
            return  # a required answer they would not give: they stop here
        now += timedelta(seconds=rng.randint(5, 40))
        question, first = partials.resume_step(opened), False
    # Every question left, never sent: the funnel counts these apart.


def load_demo(seed: int = 7, contacts: int = 2000, responses: int = 5000, days: int = 180,
              engine: Engine | None = None) -> DemoSummary:
    """Create the demo workspace and answer its invitations, run the jobs that follow, then let the CX team
    work the follow-up cases."""
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
    secret = _secret()

    counts = {"events": 0, "invitations": 0, "responses": 0, "partial": 0}
    # Commit in batches: one long session would drag an ever larger identity map through every flush.
    for batch_start in range(0, len(events), 250):
        if counts["responses"] >= responses:
            break
        with session_scope(engine) as session:
            for index in range(batch_start, min(batch_start + 250, len(events))):
                day, number, touchpoint, attrs = events[index]
                if counts["responses"] >= responses:
                    break
                # Report only as many events as the response budget needs, spread over the whole span (a
                # budget spent in date order would leave the last weeks, where a dashboard opens, empty).
                per_event = (counts["responses"] + 10 * _RESPONSES_PER_EVENT) / (counts["events"] + 10)
                if rng.random() * per_event * (len(events) - index) > 1.2 * (responses - counts["responses"]):
                    continue
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
                if answered_at >= min(now, outcome.invitation.expires_at):
                    continue
                answers = rng.random() <= answer_rate
                if not answers and rng.random() >= OPENED_ONLY_SHARE:
                    continue
                token = token_for(_nonce(session, outcome.invitation.id), secret)
                if not answers:  # opened the link, answered nothing
                    mark_opened(session, load_invitation(session, token, answered_at), answered_at)
                    continue
                mood = _mood(rng, base_moods[number], touchpoint, effects[touchpoint],
                             (now - answered_at).total_seconds() / 86400, days)
                given = _answers(rng, outcome.survey or "", touchpoint, mood, plans[number] is not None)
                if rng.random() < PARTIAL_SHARE:
                    _leave_part_way(session, rng, token, given, answered_at)
                    counts["partial"] += 1
                    continue
                submit_response(session, token, [(qid, v) for qid, v in given if v is not None], now=answered_at)
                counts["responses"] += 1
    jobs_run = Worker(engine, batch=200).run_until_idle()
    with session_scope(engine) as session:
        _work_followups(session, rng, now)
    return DemoSummary(len(TOUCHPOINTS), len(SURVEYS), contacts, counts["events"], counts["invitations"],
                       counts["responses"], jobs_run, counts["partial"])


# What the CX team wrote when they closed a case, by touchpoint (and for any other).
_NOTES = {
    "order_delivered": (
        "Called the customer. The new carrier left the parcel at the wrong address; shipping refunded.",
        "Parcel arrived damaged. Replacement sent by express, carrier claim opened.",
        "Late again with the new carrier. Apologised, 10% voucher sent; raised with logistics.",
        "Customer was not in, courier did not leave a card. Rebooked delivery for Saturday.",
        "Wrong item delivered. Return label sent, correct item shipped today.",
    ),
    "support_ticket_closed": (
        "Reopened the ticket and solved it on the phone; the first answer had missed the question.",
        "Customer had to explain the issue three times. Shared with the support lead for coaching.",
        "Explained the warranty terms again and sent them in writing.",
    ),
    "invoice_sent": (
        "Explained the invoice line by line; the pro-rata charge was confusing. Doc team asked to reword it.",
        "Double charge confirmed and refunded.",
    ),
    "_any": (
        "Called back, customer appreciated it. Nothing more to do.",
        "Left a voicemail and sent an e-mail; no reply after a week. Closing.",
        "Customer is happy with the explanation. Closed.",
        "Passed the feedback to the product team; customer thanked us for asking.",
        "Goodwill voucher sent after a short call.",
    ),
}
_TEAM = ("sam.rivera@demo.voc.local", "alex.kim@demo.voc.local")


def _work_followups(session: Session, rng: random.Random, now: datetime) -> None:
    """The CX team's work on the follow-up cases: each case dated from its response (the worker opened
    them all just now), older cases mostly resolved a day or two later with a note, recent ones open."""
    team = [create_user(session, email, "analyst", secrets.token_urlsafe(18)) for email in _TEAM]
    cases = session.execute(
        select(Followup.id, Followup.created_at, Followup.priority_key, Followup.due_at, Response.completed_at,
               Followup.touchpoint_id)
        .join(Response, Response.id == Followup.response_id).order_by(Followup.id)).all()
    keys = dict(session.execute(select(Touchpoint.id, Touchpoint.key)).all())
    dated, to_resolve = [], {}
    for case_id, created_at, key, due_at, answered_at, touchpoint_id in cases:
        opened = answered_at + timedelta(minutes=rng.randint(1, 20))
        dated.append({"case": case_id, "created": opened, "updated": opened,
                      "key": priority.priority_key(priority.priority_at(key, created_at), opened),
                      "due": due_at - (created_at - opened)})
        age_days = (now - opened).total_seconds() / 86400
        if rng.random() < (0.9 if age_days > 14 else 0.5 if age_days > 3 else 0.1):
            notes = _NOTES.get(keys.get(touchpoint_id, ""), ()) + _NOTES["_any"]
            resolved = min(now, opened + timedelta(hours=rng.uniform(2, 60)))
            to_resolve.setdefault((rng.randrange(len(team)), rng.choice(notes)), []).append((case_id, resolved))
    table = Followup.__table__
    session.connection().execute(
        update(table).where(table.c.id == bindparam("case"))
        .values(created_at=bindparam("created"), updated_at=bindparam("updated"), priority_key=bindparam("key"),
                due_at=bindparam("due")), dated)
    for (member, note), resolved in to_resolve.items():
        resolve_followups(session, [case_id for case_id, _ in resolved], team[member], note)
        when = [{"case": case_id, "when": at} for case_id, at in resolved]
        session.connection().execute(update(table).where(table.c.id == bindparam("case"))
                                     .values(resolved_at=bindparam("when"), updated_at=bindparam("when")), when)
        notes = FollowupNote.__table__
        session.connection().execute(update(notes).where(notes.c.followup_id == bindparam("case"))
                                     .values(created_at=bindparam("when")), when)


def _nonce(session: Session, invitation_id: int) -> str:
    from voc.surveys.models import Invitation

    return session.get(Invitation, invitation_id).token_nonce


def _secret() -> str:
    from voc.config import get_settings

    return get_settings().secret_key


__all__ = ["DECLINING_TOUCHPOINT", "SURVEYS", "TOUCHPOINTS", "DemoSummary", "database_is_empty", "load_demo"]
