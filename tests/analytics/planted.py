"""Answered surveys whose key drivers are known: for the "Fix first" service and page tests."""

from __future__ import annotations

from itertools import cycle, islice

from sqlmodel import Session, select

from tests.analytics.helpers import answer
from voc.surveys.models import Response, Touchpoint

SUPPORT_SCORES = (1, 2, 3, 6, 5)  # every answer a detractor
CHECKOUT_SCORES = (10, 9, 10, 8, 9)  # four promoters in five, one passive
# (touchpoint, answers, of which mention "wait time", of which feel negatively)
PLANTED = {"support_ticket": (40, 30, 25), "checkout": (40, 10, 10)}


def _analysis(text: str, sentiment: float, wait: bool, feel: float | None) -> dict:
    feeling = {"salience": 0.6, "valence": feel} if feel is not None else None
    return {"sentiment": {"compound": sentiment, "label": "negative" if sentiment <= -0.05 else "positive"},
            "dimensions": {"sense": None, "feel": feeling, "think": None, "act": None, "relate": None},
            "themes": ["wait time"] if wait else [],
            "spans": [{"start": 0, "end": len(text), "dimension": "feel", "valence": feel}] if feel is not None else [],
            "mismatch": False}


def load_planted(engine, run_jobs) -> None:
    """40 detractors at Support ticket and 40 mostly promoters at Checkout, answered yesterday; then their
    analyses set by hand: "wait time" in 30 + 10 comments, feel negative in 25 + 10 (and positive in the last
    10 at Checkout), a distinct sentiment each (what the analyser finds in a text is its own tests' business)."""
    answer(engine, [(s, "The agent kept me waiting.") for s in islice(cycle(SUPPORT_SCORES), 40)],
           touchpoint="support_ticket", stage="support", name="Support ticket")
    answer(engine, [(s, "Quick and easy checkout.") for s in islice(cycle(CHECKOUT_SCORES), 40)],
           touchpoint="checkout", stage="purchase", name="Checkout")
    run_jobs()
    with Session(engine) as session:
        keys = {t.id: t.key for t in session.exec(select(Touchpoint))}
        seen = {key: 0 for key in PLANTED}
        for response in session.exec(select(Response).order_by(Response.id)):
            key = keys[response.touchpoint_id]
            number = seen[key]
            seen[key] += 1
            _, waits, feels = PLANTED[key]
            sentiment = round((-0.9 if key == "support_ticket" else 0.3) + number / 100, 3)
            feel = -0.6 if number < feels else 0.5 if key == "checkout" and number >= 30 else None
            response.analysis = _analysis(response.comment or "", sentiment, number < waits, feel)
            response.sentiment = sentiment
            session.add(response)
        session.commit()
