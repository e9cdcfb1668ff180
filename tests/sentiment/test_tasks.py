"""The analysis in the pipeline: a completed response is read by the worker and shown by the API."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session

from tests import factories as f
from voc.sentiment.analyser import ANALYSER_VERSION
from voc.sentiment.tasks import reanalyse
from voc.surveys.models import Response
from voc.surveys.responses import submit_response

QUESTIONS = [{"id": "nps", "type": "nps", "prompt": "Recommend?", "required": True},
             {"id": "why", "type": "text", "prompt": "Why?"}]


def _answer(engine, score, text, contact="c1"):
    with Session(engine) as session:
        if not session.get(Response, 1) and contact == "c1":
            f.touchpoint(session)
            f.survey(session, questions=QUESTIONS, recontact_days=0)
        outcome = f.event(session, f"e-{contact}", contact=contact)
        response = submit_response(session, f.token_of(outcome.invitation.url),
                                   [("nps", score)] + ([("why", text)] if text else []))
        session.commit()
        return response.id


def test_a_completed_response_is_analysed_and_shown(client, engine, admin_headers, run_jobs):
    response_id = _answer(engine, 10, "The room smelled of mould and I had to call reception three times.")
    run_jobs()
    body = client.get(f"/api/v1/responses/{response_id}", headers=admin_headers).json()
    analysis = body["analysis"]
    assert analysis["sentiment"]["label"] == "negative"
    assert analysis["dimensions"]["sense"]["valence"] < 0 and analysis["dimensions"]["act"]["valence"] < 0
    assert analysis["mismatch"] is True  # a 10 with an angry comment
    assert analysis["spans"] and all(s["end"] > s["start"] for s in analysis["spans"])


def test_a_response_without_text_has_an_empty_analysis(client, engine, admin_headers, run_jobs):
    response_id = _answer(engine, 3, None)
    run_jobs()
    analysis = client.get(f"/api/v1/responses/{response_id}", headers=admin_headers).json()["analysis"]
    assert analysis["sentiment"] is None and analysis["mismatch"] is False
    assert set(analysis["dimensions"].values()) == {None}


def test_reanalyze_rereads_only_older_versions(engine, run_jobs):
    first = _answer(engine, 9, "Lovely staff, they treated me like family.")
    second = _answer(engine, 9, "Quick and easy.", contact="c2")
    run_jobs()
    with Session(engine) as session:
        session.execute(update(Response).where(Response.id == first).values(analyser_version="voc-0.1",
                                                                             sentiment=None))
        session.commit()
    assert reanalyse(engine) == 1
    with Session(engine) as session:
        again = session.get(Response, first)
        assert again.analyser_version == ANALYSER_VERSION and again.sentiment > 0
    assert reanalyse(engine) == 0 and reanalyse(engine, everything=True) == 2 and second


def test_themes_meet_across_wordings_and_carry_their_sentiment(client, engine, admin_headers, run_jobs):
    _answer(engine, 2, "The delivery was late again and nobody told me.", contact="c1")
    _answer(engine, 3, "Deliveries always arrive late.", contact="c2")
    _answer(engine, 9, "Great prices.", contact="c3")
    run_jobs()
    themes = client.get("/api/v1/themes", headers=admin_headers).json()
    delivery = next(t for t in themes if t["key"] == "delivery")
    assert delivery["count"] == 2 and delivery["mean_sentiment"] < 0 and delivery["negative_share"] == 1.0
    assert delivery["by_touchpoint"] == {"order_delivered": 2}
    assert client.get("/api/v1/themes", params={"touchpoint": "nowhere"}, headers=admin_headers).json() == []
