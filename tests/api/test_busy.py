"""Bounded waits: when the database cannot take a request within the configured wait, the client hears
503 `busy` with Retry-After at once, never a hang or a 500, and nothing is half stored."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from sqlalchemy import create_engine, func, select
from sqlmodel import Session

import voc.db
from tests import factories as f
from voc.config import get_settings
from voc.db import make_engine, session_scope
from voc.surveys.models import Invitation, Response


@pytest.fixture
def tight(database_url, monkeypatch):
    """An app whose database waits are short: one connection, 0.3 s for it or for SQLite's lock."""
    for name, value in (("DB_POOL_SIZE", "1"), ("DB_MAX_OVERFLOW", "0"), ("DB_POOL_TIMEOUT_SECONDS", "0.3"),
                        ("DB_LOCK_TIMEOUT_SECONDS", "0.3"), ("CONTACT_COOLDOWN_DAYS", "0")):
        monkeypatch.setenv(f"VOC_{name}", value)
    get_settings.cache_clear()
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        f.touchpoint(session)
        f.survey(session)
        token = f.token_of(f.event(session).invitation.url)
    yield engine, token
    engine.dispose()


def _client(engine):
    from fastapi.testclient import TestClient

    from voc.app import create_app

    return TestClient(create_app(engine=engine))


def test_a_request_that_gets_no_connection_hears_busy_within_the_wait(tight, make_key):
    engine, _ = tight
    key = make_key("responses:read")
    with _client(engine) as client, engine.connect():  # the pool's only connection, taken
        started = time.monotonic()
        answer = client.get("/api/v1/responses", headers={"Authorization": f"Bearer {key}"})
        waited = time.monotonic() - started
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "busy"
    assert int(answer.headers["retry-after"]) >= 1 and waited < 3


@pytest.mark.parametrize("database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_a_request_waiting_for_a_postgres_row_lock_hears_busy_within_the_wait(tight, database_url, make_key):
    """Another transaction holds the rows a request must change (a worker's, an operator's psql session): the
    hosted page's step, an API write and an answer hear 503 busy after VOC_DB_LOCK_TIMEOUT_SECONDS, their
    threads free again, instead of waiting as long as the holder does; once the rows are free, all go through."""
    engine, token = tight
    key = make_key("surveys:write")
    headers = {"Authorization": f"Bearer {key}"}
    holder = psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"))
    holder.execute("UPDATE invitation SET status = status")  # row locks until rollback
    holder.execute("UPDATE touchpoint SET name = name")
    released = threading.Timer(10, holder.rollback)  # a request that waits on must still let the test end
    released.start()
    try:
        with _client(engine) as client:
            started = time.monotonic()
            page = client.post(f"/s/{token}", data={"step": "nps", "q_nps": "9", "action": "next"})
            renamed = client.patch("/api/v1/touchpoints/order_delivered", json={"name": "Delivered"}, headers=headers)
            answer = client.post("/api/v1/responses", json={"token": token, "answers": [
                {"question_id": "nps", "value": 9}]})
            waited = time.monotonic() - started
    finally:
        released.cancel()
        holder.rollback()
        holder.close()
    assert page.status_code == 503 and "try again in a moment" in page.text and page.headers["retry-after"]
    assert renamed.status_code == 503 and renamed.json()["error"]["code"] == "busy" and renamed.headers["retry-after"]
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "busy" and answer.headers["retry-after"]
    assert waited < 5  # three waits of 0.3 s, not the holder's 10
    with _client(engine) as client:
        assert client.post(f"/s/{token}", data={"step": "nps", "q_nps": "9", "action": "next"}).status_code == 200
        assert client.patch("/api/v1/touchpoints/order_delivered", json={"name": "Delivered"},
                            headers=headers).json()["name"] == "Delivered"
        assert client.post("/api/v1/responses", json={"token": token, "answers": [
            {"question_id": "nps", "value": 9}]}).status_code == 201  # nothing of the refused answer was kept


@pytest.mark.parametrize("database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_an_answer_does_not_wait_for_the_rows_every_answer_shares(tight, database_url):
    """Every answer to a survey refers to the same survey, version and touchpoint rows, and a customer's to
    their contact row, which other transactions lock (the widget's decision locks the contact): storing an
    answer takes no lock on them, so it is stored at once while another transaction holds them all."""
    engine, token = tight
    holder = psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"))
    for table in ("survey", "survey_version", "touchpoint", "contact"):
        holder.execute(f"SELECT id FROM {table} FOR UPDATE")  # noqa: S608 - our own table names
    released = threading.Timer(10, holder.rollback)  # an answer that waits on must still let the test end
    released.start()
    try:
        with _client(engine) as client:
            answer = client.post("/api/v1/responses", json={"token": token, "answers": [
                {"question_id": "nps", "value": 9}]})
    finally:
        released.cancel()
        holder.rollback()
        holder.close()
    assert answer.status_code == 201, answer.text
    with Session(engine) as session:
        stored = session.get(Response, answer.json()["id"])
        invitation = session.get(Invitation, stored.invitation_id)
        assert (stored.survey_id, stored.survey_version_id, stored.touchpoint_id, stored.contact_id) == (
            invitation.survey_id, invitation.survey_version_id, invitation.touchpoint_id, invitation.contact_id)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_answer_that_never_gets_the_write_lock_hears_busy_and_stores_nothing(tight, database_url):
    engine, token = tight
    holder = create_engine(database_url)
    voc.db._configure_sqlite(holder)
    try:
        with _client(engine) as client, holder.connect() as connection:
            connection.begin()  # another process holds SQLite's write lock
            started = time.monotonic()
            answer = client.post("/api/v1/responses", json={"token": token, "answers": [
                {"question_id": "nps", "value": 9}]})
            page = client.post(f"/s/{token}", data={"step": "nps", "q_nps": "9", "action": "next"})
            waited = time.monotonic() - started
            connection.rollback()
        assert answer.status_code == 503 and answer.json()["error"]["code"] == "busy" and answer.headers["retry-after"]
        assert page.status_code == 503 and "try again in a moment" in page.text and page.headers["retry-after"]
        assert waited < 5
        with Session(engine) as session:
            assert session.scalar(select(func.count(Response.id))) == 0
        # Once the lock is free, the same token still works: nothing was half stored.
        with _client(engine) as client:
            again = client.post("/api/v1/responses", json={"token": token, "answers": [
                {"question_id": "nps", "value": 9}]})
        assert again.status_code == 201
    finally:
        holder.dispose()


@pytest.mark.postgres
def test_answers_keep_being_stored_after_postgresql_drops_every_connection(postgres_url, monkeypatch):
    """A restarted or failed-over PostgreSQL closes every connection voc holds (the answers' writer, the
    pool's, the shared limits'): the next answers are stored all the same, none of them a 5xx."""
    monkeypatch.setenv("VOC_CONTACT_COOLDOWN_DAYS", "0")
    get_settings.cache_clear()
    engine = make_engine(postgres_url)
    with session_scope(engine) as session:
        f.touchpoint(session)
        f.survey(session)
        tokens = [f.token_of(f.event(session, f"evt-{n}", contact=f"crm-{n}").invitation.url) for n in range(4)]
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with _client(engine) as client:
            def answer(token: str) -> int:
                return client.post("/api/v1/responses", json={"token": token, "answers": [
                    {"question_id": "nps", "value": 9}]}).status_code

            assert answer(tokens[0]) == 201
            assert client.post(f"/s/{tokens[1]}", data={"q_nps": "7"}).status_code < 500  # the page's pool too
            with admin.connect() as connection:
                dropped = connection.exec_driver_sql(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()").scalar()
            assert dropped >= 2  # the writer's connection and the pool's at least
            assert [answer(token) for token in tokens[2:]] == [201, 201]
            assert client.get("/healthz").status_code == 200
        with Session(engine) as session:
            assert session.scalar(select(func.count()).select_from(Response)) >= 3
    finally:
        admin.dispose()
        engine.dispose()
