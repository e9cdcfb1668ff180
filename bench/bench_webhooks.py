"""Webhook delivery in the default single-process setup (`voc serve`: web app and in-process worker on
SQLite): deliveries per second to a local receiver, and answer submitted → webhook received latency."""

from __future__ import annotations

import json
import os
import secrets
import socket
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from bench.common import ROOT, free_port, python, server


class Receiver:
    """A loopback receiver that checks every signature and notes when each message arrived."""

    def __init__(self, delay: float = 0.0) -> None:
        self.secret = ""
        self.delay = delay  # seconds each answer takes (a slow CRM)
        self.arrivals: dict[str, tuple[float, dict]] = {}  # webhook-id -> (time, body)
        self.rejected = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if receiver.delay:
                    time.sleep(receiver.delay)
                arrived = time.time()
                try:  # as a receiver would check it, with the reference Standard Webhooks library
                    Webhook(receiver.secret).verify(body, dict(self.headers.items()))
                    with receiver.lock:
                        receiver.arrivals.setdefault(self.headers["webhook-id"], (arrived, json.loads(body)))
                    status = 204
                except WebhookVerificationError:
                    receiver.rejected += 1
                    status = 401
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self):  # noqa: ANN202 - answer without waiting on Nagle's algorithm
                sock, address = super().get_request()
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return sock, address

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 120.0) -> None:
        deadline = time.time() + timeout
        while len(self.arrivals) < count and time.time() < deadline:
            time.sleep(0.01)
        if len(self.arrivals) < count:
            raise RuntimeError(f"only {len(self.arrivals)} of {count} webhooks arrived")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def _setup() -> str:
    """Migrate, make an API key; returns it."""
    from voc.auth.service import create_api_key
    from voc.db import migrate, session_scope

    migrate()
    with session_scope() as session:
        _, key = create_api_key(session, "bench", ["admin"])
    return key


def _configure(api: httpx.Client, receiver: Receiver) -> str:
    """A touchpoint, a survey, and an endpoint for the receiver; returns the endpoint's secret."""
    api.post("/api/v1/touchpoints", json={"key": "delivered", "name": "Delivered", "stage": "delivery"})
    api.post("/api/v1/surveys", json={
        "key": "bench", "title": "Bench", "status": "active", "recontact_days": 0,
        "triggers": [{"touchpoint": "delivered"}],
        "questions": [{"id": "nps", "type": "nps", "prompt": "Recommend?", "required": True},
                      {"id": "why", "type": "text", "prompt": "Why?"}]}).raise_for_status()
    created = api.post("/api/v1/webhooks", json={"url": receiver.url, "event_types": ["response.completed"]})
    created.raise_for_status()
    return created.json()["secret"]


def _latency(api: httpx.Client, receiver: Receiver, count: int) -> list[float]:
    """Submit `count` answers one after another at a steady pace; seconds until each webhook arrived."""
    tokens = []
    for n in range(count):
        outcome = api.post("/api/v1/events", json={"event_id": f"lat-{n}", "touchpoint": "delivered",
                                                   "contact": {"external_id": f"c{n}", "crm": "hubspot"}})
        tokens.append(outcome.json()["invitation"]["url"].rsplit("/", 1)[-1])
    submitted: dict[str, float] = {}
    for token in tokens:
        started = time.time()
        answer = api.post("/api/v1/responses", json={"token": token, "answers": [
            {"question_id": "nps", "value": 9}, {"question_id": "why", "value": "Quick, friendly delivery"}]})
        submitted[str(answer.json()["id"])] = started
        time.sleep(0.02)  # arrivals spread out as real traffic is, not one burst
    receiver.wait_for(count)
    arrived = {body["data"]["response"]["id"]: at for at, body in receiver.arrivals.values()
               if body["type"] == "response.completed"}
    return [arrived[rid] - started for rid, started in submitted.items()]


def _throughput(receiver: Receiver, count: int) -> tuple[float, float]:
    """Queue `count` messages at once; deliveries per second from the first arrival to the last."""
    from voc.db import session_scope
    from voc.webhooks.outbox import publish
    from voc.webhooks.samples import sample_event

    before = len(receiver.arrivals)
    data = sample_event("response.completed")["data"]
    with session_scope() as session:  # about as many customers (one contact's messages go one at a time)
        for n in range(count):
            publish(session, "response.completed", {**data, "contact": {"external_id": f"t{before + n}", "crm": "b"}})
    receiver.wait_for(before + count)
    times = sorted(at for at, _ in list(receiver.arrivals.values())[before:])
    elapsed = times[-1] - times[0]
    return (count - 1) / elapsed, elapsed


def _beside_slow(api: httpx.Client, fast: Receiver, count: int) -> tuple[float, float]:
    """A second endpoint whose receiver takes 300 ms a call: deliveries per second to the fast one while
    the slow one is being served, and to the slow one."""
    slow = Receiver(delay=0.3)
    created = api.post("/api/v1/webhooks", json={"url": slow.url, "event_types": ["response.completed"]})
    created.raise_for_status()
    slow.secret = created.json()["secret"]
    try:
        fast_rate, _ = _throughput(fast, count)
        slow.wait_for(count // 20, timeout=60)
        times = sorted(at for at, _ in slow.arrivals.values())
        slow_rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    finally:
        api.delete(f"/api/v1/webhooks/{created.json()['id']}")
        slow.server.shutdown()
    return fast_rate, slow_rate


def _baseline(receiver: Receiver, count: int) -> float:
    """The same signed POSTs straight from one thread with httpx, no queue or database: the ceiling."""
    from voc.webhooks.signing import new_message_id, webhook_headers

    body = json.dumps({"type": "response.completed", "timestamp": "2026-01-01T00:00:00Z",
                       "data": {"response": {"id": "0"}}}).encode()
    with httpx.Client() as client:
        started = time.perf_counter()
        for _ in range(count):
            client.post(receiver.url, content=body,
                        headers=webhook_headers([receiver.secret], new_message_id(), int(time.time()), body))
        return count / (time.perf_counter() - started)


def _sender_alone(receiver: Receiver, count: int) -> float:
    """The same signed POSTs through voc's own HTTP sender (voc.webhooks.transport, httpcore) from one thread,
    no queue or database: what the queue and the database leave of the sender's own rate."""
    from voc.webhooks import transport
    from voc.webhooks.signing import new_message_id, webhook_headers

    body = json.dumps({"type": "response.completed", "timestamp": "2026-01-01T00:00:00Z",
                       "data": {"response": {"id": "0"}}}).encode()
    started = time.perf_counter()
    for _ in range(count):
        headers = webhook_headers([receiver.secret], new_message_id(), int(time.time()), body)
        transport.send("POST", receiver.url, "127.0.0.1", body, headers, 10)
    return count / (time.perf_counter() - started)


def main(deliveries: int = 1000, answers: int = 200) -> dict[str, float]:
    from voc.config import get_settings

    receiver = Receiver()
    saved = dict(os.environ)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = {"VOC_DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.db'}", "VOC_LOG_LEVEL": "WARNING",
                   "VOC_SECRET_KEY": secrets.token_urlsafe(32), "VOC_WEBHOOK_ALLOW_PRIVATE": "true",
                   "VOC_CONTACT_COOLDOWN_DAYS": "0",
                   # One client address sends every answer here: lift the per-address limit on public routes.
                   "VOC_PUBLIC_REQUESTS_PER_MINUTE": "1000000000", "VOC_PUBLIC_BURST": "1000000"}
            os.environ.update(env)
            get_settings.cache_clear()
            key = _setup()
            port = free_port()
            with server([python(), "-m", "voc.cli", "serve", "--port", str(port)], port, env=env), \
                    httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"},
                                 timeout=30) as api:
                receiver.secret = _configure(api, receiver)
                latencies = _latency(api, receiver, answers)
                per_second, elapsed = _throughput(receiver, deliveries)
                beside_slow, slow_rate = _beside_slow(api, receiver, deliveries)
            baseline = _baseline(receiver, deliveries)
            sender = _sender_alone(receiver, deliveries)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()
        receiver.server.shutdown()
    p50, p95 = _percentile(latencies, 0.50) * 1000, _percentile(latencies, 0.95) * 1000
    print(f"webhook deliveries  {per_second:8.0f} /s     ({deliveries} through the job queue to a local receiver "
          f"in {elapsed:.1f} s; {receiver.rejected} bad signatures)")
    print(f"bare signed POSTs   {baseline:8.0f} /s     (httpx from one thread, no queue, no database)")
    print(f"voc's sender alone  {sender:8.0f} /s     (httpcore as deliveries send, from one thread, no queue, "
          "no database)")
    print(f"ratio deliveries / bare: {per_second / baseline:.2f} (aim: at least 0.5); deliveries / voc's sender "
          f"alone: {per_second / sender:.2f}")
    print(f"beside a 300 ms endpoint {beside_slow:8.0f} /s to the fast one ({beside_slow / per_second:.2f} of its "
          f"rate alone), {slow_rate:.1f} /s to the slow one (2 at a time)")
    print(f"answer → webhook    p50 {p50:6.0f} ms  p95 {p95:6.0f} ms  max {max(latencies) * 1000:6.0f} ms  "
          f"({answers} answers 20 ms apart, single process; aim: p95 under 1 s)")
    return {"webhook_deliveries_per_second": per_second, "bare_posts_per_second": baseline,
            "sender_alone_per_second": sender,
            "beside_slow_per_second": beside_slow,
            "answer_to_webhook_p50_ms": p50, "answer_to_webhook_p95_ms": p95}


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(*(int(arg) for arg in sys.argv[1:3]))
