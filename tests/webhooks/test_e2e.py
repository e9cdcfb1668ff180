"""The whole path to a real receiver: event to experience summary in causal order, an outage that loses
nothing, and four worker processes on PostgreSQL delivering 1,000 messages exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter

import pytest
from sqlalchemy import distinct, func, select
from sqlmodel import Session

from tests import factories
from tests.webhooks.conftest import set_env
from tests.webhooks.helpers import drain
from voc.jobs.worker import Worker
from voc.surveys.responses import submit_response
from voc.webhooks import outbox
from voc.webhooks.models import WebhookAttempt, WebhookMessage
from voc.webhooks.samples import EVENT_TYPES, sample_event

CHAIN = ["invitation.created", "response.completed", "response.analyzed", "contact.experience_updated"]
# A detractor's answer also opens a follow-up case, which the CRM hears of last.
DETRACTOR_CHAIN = [*CHAIN, "followup.created"]


def _setup_survey(client, auth):
    assert client.post("/api/v1/touchpoints", headers=auth, json={
        "key": "order_delivered", "name": "Order delivered", "stage": "delivery"}).status_code == 201
    assert client.post("/api/v1/surveys", headers=auth, json={
        "key": "post_delivery", "title": "Your delivery", "status": "active",
        "questions": [{"id": "nps", "type": "nps", "prompt": "Recommend us?", "required": True},
                      {"id": "why", "type": "text", "prompt": "Why?"}],
        "triggers": [{"touchpoint": "order_delivered"}]}).status_code == 201


def test_event_to_experience_summary_in_causal_order(client, admin_headers, receiver, engine):
    _setup_survey(client, admin_headers)
    created = client.post("/api/v1/webhooks", headers=admin_headers,
                          json={"url": receiver.url, "event_types": list(EVENT_TYPES)}).json()
    receiver.secrets.append(created["secret"])

    event = client.post("/api/v1/events", headers=admin_headers, json={
        "event_id": "ord-77-delivered", "touchpoint": "order_delivered",
        "contact": {"external_id": "0035e00000Ann", "crm": "salesforce"}})
    assert event.json()["outcome"] == "invited"
    drain(engine)
    [invited] = receiver.wait_for(1)
    assert invited.json["type"] == "invitation.created"
    url = invited.json["data"]["invitation"]["url"]  # what the CRM's own mail tool would send
    assert url == event.json()["invitation"]["url"]

    sent = client.post("/api/v1/responses", json={"token": factories.token_of(url), "answers": [
        {"question_id": "nps", "value": 3}, {"question_id": "why", "value": "The parcel came late and torn."}]})
    assert sent.status_code == 201
    drain(engine)
    got = receiver.wait_for(5)
    drain(engine)  # nothing more may arrive: one message per event
    assert all(r.verified for r in receiver.received)
    assert [r.json["type"] for r in receiver.received] == DETRACTOR_CHAIN
    assert len({r.msg_id for r in receiver.received}) == 5
    for message in got:
        assert message.json["data"]["contact"] == {"external_id": "0035e00000Ann", "crm": "salesforce"}

    completed, analyzed, updated = (r.json["data"] for r in got[1:4])
    assert completed["response"]["id"] == str(sent.json()["id"]) == analyzed["response_id"]
    assert completed["response"]["scores"] == {"nps": 3, "csat": None, "ces": None}
    assert set(analyzed["analysis"]) == {"sentiment", "dimensions", "themes", "mismatch"}
    summary = updated["summary"]
    assert summary["latest_nps"] == 3 and summary["nps_category"] == "detractor"
    assert summary["response_count"] == 1 and summary["last_touchpoint"] == "order_delivered"
    assert summary["latest_sentiment"] == analyzed["analysis"]["sentiment"] and summary["trend"] is None
    assert set(summary) == set(sample_event("contact.experience_updated")["data"]["summary"])

    experience = client.get("/api/v1/contacts/0035e00000Ann/experience", headers=admin_headers)
    assert experience.status_code == 200
    body = experience.json()
    assert body["contact"] == {"external_id": "0035e00000Ann", "crm": "salesforce"}
    assert {**body["summary"], "updated_at": None} == {**summary, "updated_at": None}
    [entry] = body["timeline"]
    assert entry["touchpoint"] == "order_delivered" and entry["stage"] == "delivery"
    assert entry["analysis"]["sentiment"] == analyzed["analysis"]["sentiment"]
    assert client.get("/api/v1/contacts/nobody/experience", headers=admin_headers).status_code == 404


def _counts(engine) -> tuple[Counter, int]:
    """Messages by status, and how many messages have had at least one attempt."""
    with Session(engine) as session:
        statuses = Counter(session.scalars(select(WebhookMessage.status)))
        tried = session.scalar(select(func.count(distinct(WebhookAttempt.message_id))))
    return statuses, tried


def test_an_outage_loses_nothing(engine, receiver, make_endpoint, background_worker, monkeypatch):
    # Retries at most 4 s apart, over two minutes in all before the endpoint counts as failing too long:
    # the outage below lasts as long as this machine takes to try every message once, which on a loaded
    # machine can pass a minute.
    set_env(monkeypatch, webhook_retry_schedule=",".join(["1", "2"] + ["4"] * 32))
    make_endpoint(event_types=["response.completed"])
    with Session(engine, expire_on_commit=False) as session:
        factories.touchpoint(session)
        factories.survey(session)
        session.commit()
        receiver.stop()
        for n in range(200):  # 200 responses arrive while the receiver is down
            outcome = factories.event(session, f"evt-{n}", contact=f"C-{n}")
            submit_response(session, factories.token_of(outcome.invitation.url), [("nps", n % 11)])
            session.commit()
    worker = Worker(engine)
    deadline = time.monotonic() + 110
    while _counts(engine)[1] < 200:  # the receiver stays down until every message has failed once
        assert time.monotonic() < deadline, _counts(engine)
        worker.run_once() or time.sleep(0.02)
    receiver.start()  # back, on the same port
    background_worker()

    received = receiver.wait_for(200, timeout=60, distinct=True)
    deadline = time.monotonic() + 20
    while _counts(engine)[0] != {"delivered": 200}:
        assert time.monotonic() < deadline, _counts(engine)
        time.sleep(0.05)
    with Session(engine) as session:
        stored = {m.msg_id for m in session.scalars(select(WebhookMessage))}
    assert {r.msg_id for r in received} == stored and len(stored) == 200
    bodies: dict[str, set[bytes]] = {}
    for r in received:
        assert r.verified
        bodies.setdefault(r.msg_id, set()).add(r.body)
    assert all(len(same) == 1 for same in bodies.values())  # a duplicate is the same message, same id
    assert {r.json["data"]["contact"]["external_id"] for r in received} == {f"C-{n}" for n in range(200)}


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # SQLite is the single-process setup
def test_four_worker_processes_deliver_1000_messages_exactly_once(database_url, engine, receiver, make_endpoint):
    make_endpoint(event_types=["response.completed"])
    data = sample_event("response.completed")["data"]
    with Session(engine) as session:  # about 1,000 customers: one contact's messages go one at a time, in order
        ids = [m.msg_id for n in range(1000) for m in outbox.publish(
            session, "response.completed", {**data, "contact": {**data["contact"], "external_id": f"crm-{n}"}})]
        session.commit()
    env = {**os.environ, "VOC_DATABASE_URL": database_url, "VOC_JOB_POLL_SECONDS": "0.05", "VOC_LOG_LEVEL": "WARNING"}
    workers = [subprocess.Popen([sys.executable, "-m", "voc.cli", "worker"], env=env) for _ in range(4)]
    try:
        received = receiver.wait_for(1000, timeout=120, distinct=True)
        deadline = time.monotonic() + 120
        while _counts(engine)[0] != {"delivered": 1000}:  # settled: no worker will take any of them again
            assert time.monotonic() < deadline, _counts(engine)
            time.sleep(0.05)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=20)
    # Every process that could send is gone; once the receiver has finished each connection they opened,
    # it holds every request ever sent, duplicates included.
    assert receiver.wait_until_idle(timeout=30)
    counts = Counter(r.msg_id for r in receiver.received)
    assert set(counts) == set(ids) and len(ids) == 1000
    # Sent once each, but for a request that got no answer in time (VOC_WEBHOOK_TIMEOUT_SECONDS is 2 s here, and
    # the receiver shares this loaded machine): it is recorded as failed and sent again, as it must be. Any
    # other second copy is a worker sending a job another one holds.
    unexplained = {}
    with Session(engine) as session:
        for msg_id in (msg_id for msg_id, n in counts.items() if n > 1):
            tries = list(session.scalars(select(WebhookAttempt).join(WebhookMessage)
                                         .where(WebhookMessage.msg_id == msg_id).order_by(WebhookAttempt.id)))
            if counts[msg_id] > 1 + sum(a.status_code is None for a in tries):
                unexplained[msg_id] = [(a.status_code, a.error, a.latency_ms) for a in tries]
    assert unexplained == {}
    assert all(r.verified for r in received)
    with Session(engine) as session:
        assert Counter(session.scalars(select(WebhookMessage.status))) == {"delivered": 1000}
