"""/metrics: what an operator graphs (request latency by route template and status class, answers accepted,
webhook attempts by endpoint, the analyser's time per comment, due jobs by kind and their age), from kept
counters and one indexed query on the job table, never a count over the responses."""

from __future__ import annotations

import json
import re
import socket
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import event, insert
from sqlmodel import Session

from tests import factories as f
from voc.config import get_settings
from voc.db import utcnow
from voc.jobs.models import Job
from voc.surveys.models import Response
from voc.surveys.responses import submit_response
from voc.webhooks.delivery import Delivery, Outcome, count_attempt, send

QUESTIONS = [{"id": "nps", "type": "nps", "prompt": "Recommend?", "required": True},
             {"id": "why", "type": "text", "prompt": "Why?"}]


def value(text: str, series: str) -> float:
    """One sample of the exposition (0 when the series is not there yet)."""
    match = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def _invitations(engine, count: int) -> list[str]:
    with Session(engine) as session:
        f.touchpoint(session)
        f.survey(session, questions=QUESTIONS, recontact_days=0)
        tokens = [f.token_of(f.event(session, f"e-{n}", contact=f"c{n}").invitation.url) for n in range(count)]
        session.commit()
    return tokens


def test_requests_are_timed_by_route_template_and_status_class(client):
    before = client.get("/metrics").text
    client.get("/s/not-a-token")
    client.post("/api/v1/responses", json={})
    client.get("/api/v1/responses/12345")
    client.get("/no/such/page")
    after = client.get("/metrics").text
    for series in ('{method="GET",route="/s/{token}",status_class="4xx"}',
                   '{method="POST",route="/api/v1/responses",status_class="4xx"}',
                   '{method="GET",route="/api/v1/responses/{response_id}",status_class="4xx"}',
                   '{method="GET",route="none",status_class="4xx"}',  # no route: never the path itself
                   '{method="GET",route="/metrics",status_class="2xx"}'):
        name = f"voc_http_request_duration_seconds_count{series}"
        assert value(after, name) == value(before, name) + 1, name
    assert 'le="+Inf"' in after and "# TYPE voc_http_request_duration_seconds histogram" in after
    assert "/s/not-a-token" not in after


def test_a_made_up_method_counts_as_other_not_as_a_series_of_its_own(client):
    for method in ("BREW", "PROPFIND", "X-EVIL-1", "X-EVIL-2"):
        client.request(method, "/s/not-a-token")
    after = client.get("/metrics").text
    assert 'method="other"' in after
    assert not any(f'method="{method}"' in after for method in ("BREW", "PROPFIND", "X-EVIL-1", "X-EVIL-2"))


def test_answers_accepted_count_once_committed(client, engine):
    first, second = _invitations(engine, 2)
    before = value(client.get("/metrics").text, "voc_responses_total")
    assert client.post("/api/v1/responses", json={"token": first, "answers": [
        {"question_id": "nps", "value": 9}]}).status_code == 201
    assert client.post("/api/v1/responses", json={"token": first, "answers": [
        {"question_id": "nps", "value": 3}]}).status_code == 409  # refused: not counted
    with Session(engine) as session:  # a transaction rolled back after storing counts nothing either
        submit_response(session, second, [("nps", 7)])
        session.rollback()
    assert value(client.get("/metrics").text, "voc_responses_total") == before + 1


def test_webhook_attempts_failures_and_latency_by_endpoint(client, engine):
    before = client.get("/metrics").text
    for outcome in (Outcome("delivered", status_code=200, latency_ms=40),
                    Outcome("retry", status_code=503, latency_ms=2000), Outcome("retry", error="timed out")):
        count_attempt(Delivery(message_id=987654, msg_id="msg_test", endpoint_id=4242, round_attempts=0), outcome)
    assert send(Delivery(987654, "msg_test", 4242, 0, disabled="off")) is None  # nothing sent: no attempt
    # An attempt refused before sending (a private address: VOC_WEBHOOK_ALLOW_PRIVATE is off) is one that failed.
    refused = send(Delivery(987654, "msg_test", 4242, 0, url="http://127.0.0.1:9/hook"))
    assert refused.kind == "retry" and refused.error.startswith("not sent")
    after = client.get("/metrics").text
    label = '{endpoint="4242"}'
    assert value(after, f"voc_webhook_attempts_total{label}") - value(before, f"voc_webhook_attempts_total{label}") == 4
    assert value(after, f"voc_webhook_failures_total{label}") - value(before, f"voc_webhook_failures_total{label}") == 3
    assert (value(after, f"voc_webhook_request_duration_seconds_count{label}")
            - value(before, f"voc_webhook_request_duration_seconds_count{label}")) == 2
    bucket = 'voc_webhook_request_duration_seconds_bucket{endpoint="4242",le="0.05"}'
    assert value(after, bucket) - value(before, bucket) == 1  # the 40 ms answer


def test_the_analyser_time_per_comment(client, engine, run_jobs):
    [token] = _invitations(engine, 1)
    before = value(client.get("/metrics").text, "voc_analyser_seconds_count")
    with Session(engine) as session:
        submit_response(session, token, [("nps", 3), ("why", "The parcel came late and the box was dented.")])
        session.commit()
    run_jobs()
    with Session(engine) as session:
        assert session.get(Response, 1).analyzed_at is not None
    assert value(client.get("/metrics").text, "voc_analyser_seconds_count") == before + 1


def test_due_jobs_and_the_oldest_one_age_by_kind(client, engine):
    now = utcnow()
    jobs = [("email.invitation", "queued", now - timedelta(minutes=10)), ("email.invitation", "queued", now),
            ("email.invitation", "queued", now + timedelta(hours=1)),  # not due yet
            ("webhook.deliver", "queued", now - timedelta(seconds=30)), ("webhook.deliver", "done", now),
            ("response.completed", "running", now - timedelta(hours=1))]
    with Session(engine) as session:
        session.execute(insert(Job), [{"kind": kind, "status": status, "run_at": run_at, "payload": {},
                                       "attempts": 0, "max_attempts": 8, "created_at": now}
                                      for kind, status, run_at in jobs])
        session.commit()
    text = client.get("/metrics").text
    assert value(text, 'voc_jobs_due{kind="email.invitation"}') == 2
    assert value(text, 'voc_jobs_due{kind="webhook.deliver"}') == 1
    assert 'voc_jobs_due{kind="response.completed"}' not in text  # running, not waiting
    assert value(text, 'voc_jobs_oldest_due_age_seconds{kind="email.invitation"}') >= 600
    assert 30 <= value(text, 'voc_jobs_oldest_due_age_seconds{kind="webhook.deliver"}') < 600


def test_a_scrape_reads_the_due_jobs_alone_through_their_index(client, engine):
    statements: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        assert client.get("/metrics").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", note)
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 1 and "FROM job" in reads[0], statements  # no count over responses or invitations
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + reads[0], ("queued", utcnow().isoformat(" "))))
        assert "ix_job_status_run_at" in plan, plan


def test_a_worker_serves_its_own_metrics_behind_the_token(engine, monkeypatch):
    from voc.web.ops import serve_worker_metrics

    monkeypatch.setenv("VOC_METRICS_TOKEN", "metrics-token-0123456789")
    get_settings.cache_clear()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = serve_worker_metrics(engine, "127.0.0.1", port)
    try:
        base = f"http://127.0.0.1:{port}/metrics"
        assert httpx.get(base).status_code == 401
        served = httpx.get(base, headers={"Authorization": "Bearer metrics-token-0123456789"})
        assert served.status_code == 200 and "# TYPE voc_webhook_attempts_total counter" in served.text
        assert httpx.get(f"http://127.0.0.1:{port}/other").status_code == 404
    finally:
        server.shutdown()
        server.server_close()



def test_the_grafana_dashboard_graphs_only_metrics_voc_serves(client):
    dashboard = json.loads((Path(__file__).resolve().parents[2] / "docs" / "grafana" / "voc.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    graphed = {re.sub(r"_(bucket|count|sum)$", "", name) for expr in exprs for name in re.findall(r"voc_\w+", expr)}
    served = set(re.findall(r"^# TYPE (voc_\w+) ", client.get("/metrics").text, re.MULTILINE))
    assert graphed and graphed <= served, graphed - served
    assert {"voc_http_request_duration_seconds", "voc_responses_total", "voc_webhook_attempts_total",
            "voc_webhook_failures_total", "voc_webhook_request_duration_seconds", "voc_jobs_due",
            "voc_jobs_oldest_due_age_seconds", "voc_analyser_seconds"} <= graphed
