"""compute_metrics (what the metrics API returns) counts the completed answers that match its filters: survey,
touchpoint, and the half-open window [since, until)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from tests.analytics.helpers import answer_at
from voc.db import utcnow
from voc.surveys.metrics import compute_metrics, score_counts
from voc.surveys.models import Response

QUESTIONS = [{"id": "nps", "type": "nps", "prompt": "Recommend?"}, {"id": "csat", "type": "csat", "prompt": "Happy?"},
             {"id": "ces", "type": "ces", "prompt": "Easy?"}]


def test_filters_choose_the_answers_counted(engine, session):
    start = (utcnow() - timedelta(days=3)).replace(microsecond=0)
    given = [("nps", 10), ("csat", 5), ("ces", 6)]
    answer_at(engine, start, given, questions=QUESTIONS)  # exactly at `since`: counted
    answer_at(engine, start + timedelta(hours=1), [("nps", 9), ("csat", 3)], questions=QUESTIONS)
    answer_at(engine, start + timedelta(hours=2), [("nps", 2), ("ces", 2)], touchpoint="ticket_closed",
              stage="support", questions=QUESTIONS)
    answer_at(engine, start + timedelta(days=1), [("nps", 7)], questions=QUESTIONS)  # exactly at `until`: not
    answer_at(engine, start - timedelta(seconds=1), [("nps", 0)], questions=QUESTIONS)  # before `since`: not
    until = start + timedelta(days=1)

    everything = compute_metrics(session)
    assert everything["nps"].n == 5 and everything["nps"].breakdown == {"promoters": 2, "passives": 1,
                                                                        "detractors": 2}
    assert (everything["csat"].n, everything["csat"].value) == (2, 50.0)
    assert (everything["ces"].n, everything["ces"].value) == (2, 4.0)

    window = compute_metrics(session, since=start, until=until)
    assert window["nps"].breakdown == {"promoters": 2, "passives": 0, "detractors": 1}
    assert score_counts(session, Response.nps, since=start, until=until) == {10: 1, 9: 1, 2: 1}

    delivery = compute_metrics(session, touchpoint="order_delivered", since=start, until=until)
    assert delivery["nps"].n == 2 and delivery["nps"].value == 100.0 and delivery["ces"].n == 1
    support = compute_metrics(session, survey="survey_ticket_closed")
    assert (support["nps"].n, support["nps"].value, support["csat"].n) == (1, -100.0, 0)
    assert score_counts(session, Response.ces, survey="survey_order_delivered") == {6: 1}
    assert compute_metrics(session, survey="no_such_survey")["nps"].n == 0


def test_unfinished_answers_are_not_counted(engine, session):
    start = utcnow() - timedelta(days=1)
    kept = answer_at(engine, start, [("nps", 10)], questions=QUESTIONS)
    dropped = answer_at(engine, start, [("nps", 0)], questions=QUESTIONS)
    with Session(engine) as other:
        response = other.get(Response, dropped)
        response.status = "started"
        other.add(response)
        other.commit()
    assert score_counts(session, Response.nps) == {10: 1}
    assert kept != dropped
