"""Customers arriving together, against the real server process (`voc serve`, with its worker), on SQLite
and PostgreSQL: every answer is stored, every CRM event decided once, nobody gets a 5xx, /healthz keeps
answering within a second, and the event loop is never held (the server's own loop watch counts a stall
past 100 ms)."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from tests import factories as f
from tests.crowds.server import Crowd, crowd, voc_serve
from voc.auth.service import create_api_key
from voc.auth.users import create_user
from voc.config import get_settings
from voc.db import session_scope
from voc.surveys.models import Event, Invitation, PartialResponse, Response, Survey

pytestmark = [pytest.mark.slow, pytest.mark.alone]
QUESTIONS = f.NPS_QUESTIONS


def _invite(engine, survey: str, count: int) -> list[str]:
    with session_scope(engine) as session:
        return [f.token_of(f.event(session, event_id=f"{survey}-{n}", touchpoint=survey,
                                   contact=f"{survey}-c{n}").invitation.url) for n in range(count)]


@pytest.fixture
def workspace(engine, monkeypatch):
    """Surveys on touchpoints of their own: one shown as a page, one step by step, twenty to edit."""
    monkeypatch.setenv("VOC_CONTACT_COOLDOWN_DAYS", "0")
    get_settings.cache_clear()
    with session_scope(engine) as session:
        for key, layout in (("page", "page"), ("steps", "steps"), ("race", "page"), ("crm", "page")):
            f.touchpoint(session, key)
            f.survey(session, key, touchpoint=key, layout=layout, recontact_days=0)
        for n in range(20):
            f.touchpoint(session, f"edit{n}")
            f.survey(session, f"edit{n}", touchpoint=f"edit{n}", status="draft")
        create_user(session, "admin@example.com", "admin", "correct horse battery")
        _, crm_key = create_api_key(session, "crm", ["events:write"])
    return {"page": _invite(engine, "page", 50), "steps": _invite(engine, "steps", 50),
            "race": _invite(engine, "race", 1)[0], "crm_key": crm_key}


def _signed_in(base: str) -> tuple[httpx.Cookies, str]:
    with httpx.Client(base_url=base, timeout=30) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
        answer = client.post("/login", data={"email": "admin@example.com", "password": "correct horse battery",
                                             "csrf_token": token})
        assert answer.status_code == 303, answer.text  # on to the dashboard
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/dashboard").text).group(1)
        return client.cookies, csrf


def _editor_form(csrf: str, n: int) -> dict[str, str]:
    return {"csrf_token": csrf, "title": f"Edited survey {n}", "recontact_days": "14", "thank_you": "Thanks!",
            "q-0-id": "nps", "q-0-type": "nps", "q-0-prompt": QUESTIONS[0]["prompt"], "q-0-required": "1",
            "q-1-id": "why", "q-1-type": "text", "q-1-prompt": QUESTIONS[1]["prompt"],
            "t-0-touchpoint": f"edit{n}", "t-0-sample_rate": "1", "t-0-delay_minutes": "0",
            "t-0-expires_after_hours": "", "t-0-channel": "link", "action": "save"}


def _held_up_nobody(result: Crowd, what: str) -> None:
    assert result.server_errors == [], f"{what}: {result.statuses}"
    assert result.health and max(result.health) < 1.0, f"{what}: /healthz took {max(result.health):.2f} s"


def _count(engine, model, survey: str) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model).join(Survey, Survey.id == model.survey_id)
                              .where(Survey.key == survey))


def test_crowds_of_customers_and_editors_never_freeze_the_server(engine, workspace, tmp_path):
    with voc_serve(str(engine.url.render_as_string(hide_password=False)), str(tmp_path)) as server:
        # 50 customers press Send on the hosted form at the same moment.
        sent = crowd(server.base, [("POST", f"/s/{token}", {"data": {"q_nps": "9", "q_why": "Quick and kind"}})
                                   for token in workspace["page"]])
        _held_up_nobody(sent, "50 form submits")
        assert sent.statuses == [200] * 50 and all("Thank you" in a.text for a in sent.answers)
        assert _count(engine, Response, "page") == 50

        # 50 customers save their first step at the same moment.
        steps = crowd(server.base, [("POST", f"/s/{token}", {"data": {"step": "nps", "q_nps": "4",
                                                                      "action": "next"}})
                                    for token in workspace["steps"]])
        _held_up_nobody(steps, "50 step saves")
        assert steps.statuses == [200] * 50
        assert all(QUESTIONS[1]["prompt"] in a.text for a in steps.answers)  # each was shown the next question
        assert _count(engine, PartialResponse, "steps") == 50

        # 20 survey editors save at the same moment.
        cookies, csrf = _signed_in(server.base)
        edits = crowd(server.base, [("POST", f"/dashboard/surveys/edit{n}/edit", {"data": _editor_form(csrf, n)})
                                    for n in range(20)], cookies=cookies)
        _held_up_nobody(edits, "20 editor saves")
        assert edits.statuses == [303] * 20
        with Session(engine) as session:
            titles = dict(session.execute(select(Survey.key, Survey.title).where(Survey.key.like("edit%"))).all())
        assert titles == {f"edit{n}": f"Edited survey {n}" for n in range(20)}

        # One token, sent 25 times by the form and 25 times by the API at once: exactly one is taken.
        token = workspace["race"]
        race = crowd(server.base, [("POST", f"/s/{token}", {"data": {"q_nps": "10"}})] * 25
                     + [("POST", "/api/v1/responses", {"json": {"token": token, "answers": [
                         {"question_id": "nps", "value": 10}]}})] * 25)
        _held_up_nobody(race, "25 form + 25 API submits of one token")
        taken = [s for s in race.statuses if s in (200, 201)]
        assert len(taken) == 1 and race.statuses.count(409) == 49, race.statuses
        assert all(a.json()["error"]["code"] == "already_answered" for a in race.answers[25:]
                   if a.status_code == 409)
        assert max(race.seconds) < 2.0
        assert _count(engine, Response, "race") == 1

        # The CRM reports 30 touchpoint events at the same moment, and sends 10 of them twice (a retry racing
        # the original): each event is decided once, and its twin hears the same answer.
        ids = [f"crm-{n}" for n in range(30)] + [f"crm-{n}" for n in range(10)]
        events = crowd(server.base, [("POST", "/api/v1/events", {
            "headers": {"Authorization": f"Bearer {workspace['crm_key']}"},
            "json": {"event_id": event_id, "touchpoint": "crm", "contact": {"external_id": f"{event_id}-c"}}})
            for event_id in ids])
        _held_up_nobody(events, "40 CRM events, 10 of them twice")
        assert events.statuses == [202] * 40, events.statuses
        answers = [a.json() for a in events.answers]
        assert all(a["outcome"] == "invited" and a["invitation"]["url"] for a in answers)
        assert answers[30:] == answers[:10]  # a twin's answer is the original's, link and all
        with Session(engine) as session:
            stored = session.scalar(select(func.count()).select_from(Event).where(Event.event_id.like("crm-%")))
            invited = session.scalar(select(func.count()).select_from(Invitation).join(Survey)
                                     .where(Survey.key == "crm"))
        assert stored == 30 and invited == 30

        # Through all of it, no request held the event loop for more than 100 ms.
        assert server.metric("voc_event_loop_held_total") == 0, server.log
    assert "Traceback" not in server.log, server.log
