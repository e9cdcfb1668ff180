"""The demo tells something true on every panel: six months of data (each 90-day period has a previous
one), customers who leave part-way at different questions, German surveys, follow-ups closed with notes,
and a touchpoint that got worse month after month."""

from __future__ import annotations

import shutil
import statistics
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from voc import models as _every_table  # noqa: F401 - invitation.site_id refers to site: its model must be known
from voc.config import get_settings
from voc.db import make_engine, session_scope, utcnow
from voc.demo.loader import DECLINING_TOUCHPOINT, SURVEYS, DemoSummary, load_demo
from voc.followups.models import Followup, FollowupNote, FollowupStatus
from voc.surveys.events import report_event
from voc.surveys.funnel import survey_funnels
from voc.surveys.models import Invitation, PartialResponse, Response, Survey, Touchpoint
from voc.surveys.schemas import EventIn
from voc.surveys.tokens import token_for

# Big enough for every story to show through the noise, small enough to load in seconds.
SIZE = {"seed": 7, "contacts": 150, "responses": 300}


@pytest.fixture(scope="module")
def loaded(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, DemoSummary]]:
    path = tmp_path_factory.mktemp("story") / "voc.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("VOC_DATABASE_URL", url)
        get_settings.cache_clear()
        engine = make_engine(url)
        try:
            yield engine, load_demo(**SIZE, engine=engine)
        finally:
            engine.dispose()
            get_settings.cache_clear()


def _completed_at(engine: Engine, *where: object) -> list[datetime]:
    with Session(engine) as session:
        return list(session.scalars(select(Response.completed_at).where(*where)))


def test_six_months_with_data_in_each_of_the_last_two_90_day_periods(loaded):
    engine, summary = loaded
    now = utcnow()
    moments = _completed_at(engine)
    assert len(moments) == summary.responses == SIZE["responses"]
    assert now - min(moments) > timedelta(days=150)
    latest = sum(now - m < timedelta(days=90) for m in moments)
    previous = sum(timedelta(days=90) <= now - m < timedelta(days=180) for m in moments)
    assert latest + previous == len(moments)
    assert min(latest, previous) > 0.3 * len(moments)  # the budget lasts to the end, not only the first months
    assert now - max(moments) < timedelta(days=4)


def test_about_eight_percent_leave_part_way_and_drop_off_differs_by_question(loaded):
    engine, summary = loaded
    with Session(engine) as session:
        partial = session.scalars(select(PartialResponse).where(PartialResponse.completed_at.is_(None))).all()
        started = [p for p in partial if p.answers]
        share = len(started) / (len(started) + summary.responses)
        assert 0.04 <= share <= 0.13, share
        assert summary.partial == len(started)
        funnels = survey_funnels(session, list(session.scalars(select(Survey))))
    dropped = {(f.survey, q.question_id): q.dropped for f in funnels for q in f.questions}
    assert sum(dropped.values()) + sum(f.dropped_before_sending for f in funnels) == len(started)
    assert sum(dropped.values()) > 0.6 * len(started)  # most stop at a question, a few before sending
    assert len({count for count in dropped.values() if count}) > 1  # not the same at every question
    # More customers stop at a question that asks them to write than at the one after it.
    assert dropped[("relationship_nps", "reason")] > dropped[("relationship_nps", "improve")]
    for funnel in funnels:  # some opened the link and answered nothing, some left part-way
        assert funnel.opened > funnel.started > funnel.completed > 0, funnel


def test_every_demo_survey_is_translated_into_german_and_served_in_it(loaded, monkeypatch):
    engine, _ = loaded
    with Session(engine) as session:
        for body in SURVEYS:
            survey = session.scalar(select(Survey).where(Survey.key == body["key"]))
            german = survey.translations["de"]
            assert german["title"] and german["thank_you"]
            assert set(german["questions"]) == {q["id"] for q in body["questions"]}
            assert all(text["prompt"] for text in german["questions"].values())
    monkeypatch.setenv("VOC_DATABASE_URL", str(engine.url))
    get_settings.cache_clear()
    with session_scope(engine) as session:  # a new support ticket, closed an hour ago (past the 30-minute delay)
        outcome = report_event(session, EventIn.model_validate(
            {"event_id": "story-de", "touchpoint": "support_ticket_closed",
             "contact": {"external_id": "CUS-DE-1", "crm": "demo-crm"},
             "occurred_at": utcnow() - timedelta(hours=1)}))
        token = token_for(session.get(Invitation, outcome.invitation.id).token_nonce, get_settings().secret_key)
    from voc.app import create_app

    with TestClient(create_app(engine=engine)) as client:
        page = client.get(f"/s/{token}?lang=de")
    assert page.status_code == 200
    assert '<html lang="de">' in page.text
    assert "Ihre Supportanfrage" in page.text
    assert "Wie einfach war es, Ihr Anliegen zu lösen?" in page.text  # the question, not only the buttons
    assert "How easy was it" not in page.text
    assert "Weiter" in page.text


def test_follow_ups_were_worked_older_cases_closed_with_notes(loaded):
    engine, _ = loaded
    now = utcnow()
    with Session(engine) as session:
        cases = session.scalars(select(Followup)).all()
        noted = set(session.scalars(select(FollowupNote.followup_id)))
    resolved = [c for c in cases if c.status == FollowupStatus.resolved]
    still_open = [c for c in cases if c.status != FollowupStatus.resolved]
    assert resolved and still_open
    assert {c.id for c in resolved} <= noted  # every closed case says what was done
    assert all(c.created_at < c.resolved_at <= now for c in resolved)
    # Cases date from their responses, over the months, not from the moment the demo was loaded.
    assert now - min(c.created_at for c in cases) > timedelta(days=60)
    old = [c for c in cases if now - c.created_at > timedelta(days=30)]
    assert sum(c.status == FollowupStatus.resolved for c in old) > 0.7 * len(old)


def test_the_declining_touchpoint_scores_lower_in_the_latest_months_than_the_first(loaded):
    engine, _ = loaded
    now = utcnow()
    with Session(engine) as session:
        touchpoint_id = session.scalar(select(Touchpoint.id).where(Touchpoint.key == DECLINING_TOUCHPOINT))
        rows = session.execute(select(Response.completed_at, Response.csat)
                               .where(Response.touchpoint_id == touchpoint_id, Response.csat.is_not(None))).all()
    first = [csat for at, csat in rows if now - at > timedelta(days=120)]
    latest = [csat for at, csat in rows if now - at < timedelta(days=60)]
    assert len(first) >= 10 and len(latest) >= 10, (len(first), len(latest))
    assert statistics.mean(latest) < statistics.mean(first) - 0.5, (statistics.mean(first), statistics.mean(latest))
