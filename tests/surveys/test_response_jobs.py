"""What follows a stored answer: one job reads the text, counts the response, tells the CRM and opens
a follow-up; if the analyser fails, the response is still counted and announced, and the reading retried."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update
from sqlmodel import Session

import voc.sentiment.tasks
import voc.surveys.tasks
from tests import factories as f
from voc.analytics.models import Rollup
from voc.db import utcnow
from voc.jobs.models import Job
from voc.surveys.models import Response
from voc.surveys.responses import store_response
from voc.webhooks.models import WebhookEndpoint, WebhookMessage

CHAIN = ["response.completed", "response.analyzed", "contact.experience_updated", "followup.created"]


def _answer(engine, text: str = "The room smelled of mould and I had to call reception three times.") -> int:
    with Session(engine) as session:
        f.touchpoint(session)
        f.survey(session)
        session.add(WebhookEndpoint(url="https://crm.example.com/hooks", event_types=CHAIN, secret="sealed"))
        outcome = f.event(session)
        response_id = store_response(session, f.token_of(outcome.invitation.url), [("nps", 2), ("why", text)])
        session.commit()
    return response_id


def _state(engine, response_id: int):
    with Session(engine) as session:
        response = session.get(Response, response_id)
        counts = session.execute(select(func.sum(Rollup.responses), func.sum(Rollup.sentiment_count))).one()
        events = list(session.scalars(select(WebhookMessage.event_type).order_by(WebhookMessage.id)))
        jobs = {kind: status for kind, status in session.execute(
            select(Job.kind, Job.status).where(Job.kind.like("response.%")))}
        return response, tuple(counts), events, jobs


def test_one_job_reads_counts_and_announces_an_answer(engine, run_jobs):
    response_id = _answer(engine)
    run_jobs()
    response, counts, events, jobs = _state(engine, response_id)
    assert response.sentiment is not None and response.sentiment < 0
    assert response.analysis["dimensions"]["sense"]["valence"] < 0
    assert counts == (1, 1)  # counted once, with its sentiment
    assert events == CHAIN  # in the order a CRM expects them
    assert jobs == {"response.completed": "done"}  # no second job for the analysis


def test_a_failing_analyser_delays_only_the_reading(engine, run_jobs, monkeypatch):
    response_id = _answer(engine)

    def broken(text):
        raise RuntimeError("analyser bug")

    monkeypatch.setattr(voc.sentiment.tasks, "analyse", broken)
    run_jobs()
    response, counts, events, jobs = _state(engine, response_id)
    assert response.analysis is None
    assert counts == (1, 0)  # counted, without a sentiment
    assert events == ["response.completed"]
    assert jobs["response.completed"] == "done" and jobs["response.analyse"] == "queued"  # retried later
    with Session(engine) as session:
        assert "analyser bug" in session.scalars(select(Job.last_error).where(Job.kind == "response.analyse")).one()

    monkeypatch.undo()  # the analyser is fixed; the retry comes due
    with Session(engine) as session:
        session.execute(update(Job).where(Job.kind == "response.analyse").values(run_at=utcnow()))
        session.commit()
    run_jobs()
    response, counts, events, jobs = _state(engine, response_id)
    assert response.sentiment is not None and counts == (1, 1)
    assert events == CHAIN
    assert jobs == {"response.completed": "done", "response.analyse": "done"}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_submit_that_skipped_the_page_counts_its_funnel_steps_once(engine, run_jobs):
    _answer(engine)
    run_jobs()
    run_jobs()
    with Session(engine) as session:
        assert session.execute(select(func.sum(Rollup.opened), func.sum(Rollup.started),
                                      func.sum(Rollup.responses))).one() == (1, 1, 1)


def test_answers_followed_up_together_count_once_each_even_when_one_of_them_is_run_again(
        engine, run_jobs, monkeypatch):
    """A worker runs the answers' jobs it claimed together in one transaction, their rollup changes merged and
    written at its end; when one fails, the lot is rolled back and each runs alone: nothing counts twice."""
    with Session(engine) as session:
        f.touchpoint(session)
        f.survey(session)
        tokens = [f.token_of(f.event(session, event_id=f"e{n}", contact=f"c{n}").invitation.url) for n in range(4)]
        session.commit()
    with Session(engine) as session:
        ids = [store_response(session, token, [("nps", score), ("why", "Friendly staff, slow checkout.")])
               for token, score in zip(tokens, (10, 9, 3, 7), strict=True)]
        session.commit()
    failed_once = []
    publish = voc.surveys.tasks.publish_response_completed

    def fails_once_for_the_third(session, response):
        if response.id == ids[2] and not failed_once:
            failed_once.append(response.id)
            raise RuntimeError("the outbox is briefly unavailable")
        return publish(session, response)

    monkeypatch.setattr(voc.surveys.tasks, "publish_response_completed", fails_once_for_the_third)
    run_jobs()
    with Session(engine) as session:
        responses, promoters, detractors = session.execute(
            select(func.sum(Rollup.responses), func.sum(Rollup.nps_promoters), func.sum(Rollup.nps_detractors))).one()
        statuses = set(session.scalars(select(Job.status).where(Job.kind == "response.completed")))
    assert failed_once == [ids[2]]
    assert (responses, promoters, detractors) == (4, 2, 1)  # each answer once, the retried one too
    assert statuses == {"done"}
