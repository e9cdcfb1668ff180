"""`voc demo` builds a believable workspace through the same service functions as real traffic."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session

from voc.demo.loader import database_is_empty, load_demo
from voc.surveys.models import Contact, Event, Response, Survey, Touchpoint


def _snapshot(engine):
    with Session(engine) as session:
        return {
            "surveys": session.scalars(select(Survey.key).order_by(Survey.key)).all(),
            "touchpoints": session.scalar(select(func.count(Touchpoint.id))),
            "per_survey": dict(session.execute(
                select(Survey.key, func.count(Response.id))
                .join(Response, Response.survey_id == Survey.id).group_by(Survey.key)).all()),
            "scores": session.execute(select(Response.nps, Response.csat, Response.ces, Response.comment)
                                      .order_by(Response.id)).all(),
            "suppressed": session.scalar(select(func.count(Event.id)).where(Event.outcome == "suppressed")),
            "contacts": session.scalar(select(func.count(Contact.id))),
        }


def test_demo_is_realistic_and_repeatable(engine, tmp_path):
    from voc.db import make_engine, migrate

    assert database_is_empty(engine)
    summary = load_demo(seed=3, contacts=50, responses=60, engine=engine)
    assert not database_is_empty(engine)
    first = _snapshot(engine)
    assert first["surveys"] == ["post_delivery_csat", "relationship_nps", "support_ces"]
    assert first["touchpoints"] == 8 and 0 < first["contacts"] <= 50
    assert set(first["per_survey"]) == set(first["surveys"]) and summary.responses == len(first["scores"]) == 60
    assert first["suppressed"] > 0  # quarantine and sampling are at work, as with real traffic
    comments = [row.comment for row in first["scores"] if row.comment]
    assert len(set(comments)) > 0.8 * len(comments) > 30

    other = f"sqlite:///{tmp_path / 'again.db'}"
    migrate(other)
    again_engine = make_engine(other)
    load_demo(seed=3, contacts=50, responses=60, engine=again_engine)
    assert _snapshot(again_engine)["scores"] == first["scores"]
    again_engine.dispose()


def test_voc_demo_prints_a_dashboard_sign_in_that_works(tmp_path, monkeypatch):
    import os
    import re
    import subprocess
    import sys

    from fastapi.testclient import TestClient

    from tests.conftest import csrf_of
    from voc.app import create_app
    from voc.db import make_engine

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    env = {**os.environ, "VOC_DATABASE_URL": url}
    out = subprocess.run([sys.executable, "-m", "voc.cli", "demo", "--if-empty", "--contacts", "20",
                          "--responses", "15"], env=env, capture_output=True, text=True, check=True).stdout
    email, password = re.search(r"e-mail (\S+)\s+password (\S+)", out).groups()
    again = subprocess.run([sys.executable, "-m", "voc.cli", "demo", "--if-empty"], env=env, capture_output=True,
                           text=True, check=True).stdout
    assert "not loaded" in again  # make run a second time keeps the data
    monkeypatch.setenv("VOC_DATABASE_URL", url)
    engine = make_engine(url)
    with TestClient(create_app(engine=engine)) as client:
        token = csrf_of(client.get("/login").text)
        signed_in = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
        assert signed_in.status_code == 200 and "Overview" in signed_in.text
    engine.dispose()
