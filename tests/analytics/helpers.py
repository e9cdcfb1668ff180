"""Answered surveys in one line, for the rollup and dashboard tests."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from tests import factories as f
from voc.analytics.models import ALL, RollupTotal
from voc.db import utcnow
from voc.surveys.models import Survey, Touchpoint
from voc.surveys.responses import submit_response

QUESTIONS = [{"id": "nps", "type": "nps", "prompt": "Recommend?", "required": True},
             {"id": "why", "type": "text", "prompt": "Why?"}]
XSS = "<script>alert(1)</script> <img src=x onerror=alert(1)>"


def answer(engine, answers, *, days_ago: float = 1, touchpoint: str = "order_delivered", stage: str = "delivery",
           name: str | None = None, title: str = "How did we do?") -> None:
    """Answer the touchpoint's NPS survey once per (score, text) pair, `days_ago` days ago."""
    when = utcnow() - timedelta(days=days_ago)
    with Session(engine) as session:
        if not session.exec(select(Touchpoint).where(Touchpoint.key == touchpoint)).first():
            f.touchpoint(session, touchpoint, stage=stage, name=name or touchpoint.replace("_", " ").title())
            f.survey(session, f"survey_{touchpoint}", touchpoint=touchpoint, questions=QUESTIONS,
                     recontact_days=0, title=title)
        assert session.exec(select(Survey).where(Survey.key == f"survey_{touchpoint}")).first()
        for number, (score, text) in enumerate(answers):
            contact = f"{touchpoint}-{days_ago}-{number}"
            outcome = f.event(session, f"e-{contact}", touchpoint=touchpoint, contact=contact,
                              occurred_at=when.isoformat())
            submit_response(session, f.token_of(outcome.invitation.url),
                            [("nps", score)] + ([("why", text)] if text else []), now=when)
        session.commit()


def rolled_up(engine, *, days_ago: float, **counts: int) -> None:
    """Add score counts (`csat_5=1200`, …) straight to one day's total over every survey and touchpoint:
    what the unfiltered overview reads, for volumes that would take too long to answer one by one."""
    day = (utcnow() - timedelta(days=days_ago)).date()
    with Session(engine) as session:
        session.add(RollupTotal(survey_id=ALL, touchpoint_id=ALL, day=day, responses=sum(counts.values()),
                                **counts))
        session.commit()


CHOICE_QUESTIONS = [{"id": "nps", "type": "nps", "prompt": "Recommend?", "required": True},
                    {"id": "why", "type": "text", "prompt": "Why?"},
                    {"id": "plan", "type": "single_choice", "prompt": "Which plan?", "options": ["Basic", "Pro"]},
                    {"id": "liked", "type": "multi_choice", "prompt": "What did you like?",
                     "options": ["Speed", "Price", "Staff"]}]
_contacts = itertools.count(1)


def answer_at(engine, when: datetime, given: list[tuple[str, Any]], *, touchpoint: str = "order_delivered",
              stage: str = "delivery", name: str | None = None, questions: list[dict] | None = None,
              survey: str | None = None, title: str = "How did we do?") -> int:
    """One response to the touchpoint's survey (made with `questions` if new), completed at `when` exactly."""
    survey = survey or f"survey_{touchpoint}"
    with Session(engine) as session:
        if not session.exec(select(Touchpoint).where(Touchpoint.key == touchpoint)).first():
            f.touchpoint(session, touchpoint, stage=stage, name=name or touchpoint.replace("_", " ").title())
        if not session.exec(select(Survey).where(Survey.key == survey)).first():
            f.survey(session, survey, touchpoint=touchpoint, questions=questions or CHOICE_QUESTIONS,
                     recontact_days=0, title=title)
        contact = f"{touchpoint}-at-{next(_contacts)}"
        outcome = f.event(session, f"e-{contact}", touchpoint=touchpoint, contact=contact,
                          occurred_at=(when - timedelta(minutes=5)).isoformat())
        response = submit_response(session, f.token_of(outcome.invitation.url), given, now=when)
        session.commit()
        return response.id
