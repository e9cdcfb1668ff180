"""VOC_TEXT_RETENTION_DAYS: the worker's housekeeping removes free text past its age and keeps the scores."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlmodel import Session

from tests import factories as f
from voc.config import get_settings
from voc.db import session_scope, utcnow
from voc.jobs.queue import run_housekeeping
from voc.jobs.worker import load_handlers
from voc.surveys import responses
from voc.surveys.models import Answer, Response


def _answered(engine, n: int, days_ago: float) -> int:
    with session_scope(engine) as session:
        token = f.token_of(f.event(session, event_id=f"e{n}", contact=f"c{n}").invitation.url)
    with session_scope(engine) as session:
        response_id = responses.store_response(session, token, [("nps", 3), ("why", f"Old complaint {n}")])
        session.execute(update(Response).where(Response.id == response_id).values(
            completed_at=utcnow() - timedelta(days=days_ago),
            analysis={"sentiment": {"compound": -0.5, "label": "negative"}, "dimensions": {}, "themes": ["x"],
                      "spans": [{"start": 0, "end": 3}]}))
    return response_id


def test_text_past_its_retention_is_removed_and_scores_stay(engine, monkeypatch):
    load_handlers()  # as a worker does: every housekeeper registered
    monkeypatch.setenv("VOC_CONTACT_COOLDOWN_DAYS", "0")
    get_settings.cache_clear()
    with session_scope(engine) as session:
        f.touchpoint(session)
        f.survey(session, recontact_days=0)
    old, recent = _answered(engine, 1, days_ago=40), _answered(engine, 2, days_ago=5)
    run_housekeeping(engine)  # no retention set: everything kept
    with Session(engine) as session:
        assert session.get(Response, old).comment == "Old complaint 1"
    monkeypatch.setenv("VOC_TEXT_RETENTION_DAYS", "30")
    get_settings.cache_clear()
    assert run_housekeeping(engine)["text_retention"] == 1
    with Session(engine) as session:
        gone, kept = session.get(Response, old), session.get(Response, recent)
        assert gone.comment is None and gone.nps == 3
        assert gone.analysis == {"sentiment": {"compound": -0.5, "label": "negative"}, "dimensions": {}}
        assert session.scalars(select(Answer.text).where(Answer.response_id == old)).all() == [None, None]
        assert kept.comment == "Old complaint 2" and "themes" in kept.analysis
    assert run_housekeeping(engine)["text_retention"] == 0  # done once



def test_the_settings_page_says_how_long_text_is_kept(client, login, monkeypatch):
    login("admin")
    assert "kept until a customer" in " ".join(client.get("/dashboard/settings/users").text.split())
    monkeypatch.setenv("VOC_TEXT_RETENTION_DAYS", "30")
    get_settings.cache_clear()
    assert "removed 30 days after it was given" in " ".join(client.get("/dashboard/settings/users").text.split())
