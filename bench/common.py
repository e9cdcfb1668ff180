"""Helpers shared by the benchmarks: free ports, servers in subprocesses, a keep-alive load generator."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, path: str = "/healthz", timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", path)
            if connection.getresponse().status < 500:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not come up")


@contextmanager
def server(args: list[str], port: int, env: dict[str, str] | None = None, health: str = "/healthz",
           timeout: float = 30.0):
    """Run a server command in a subprocess until the block ends (it must answer within `timeout` s)."""
    process = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **(env or {})},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(port, health, timeout)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _post_many(port: int, path: str, bodies: list[bytes], headers: dict[str, str] | None = None
               ) -> tuple[int, list[float], float, float]:
    headers = {"content-type": "application/json", **(headers or {})}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.connect()
    failures, latencies = 0, []
    first = time.perf_counter()  # CLOCK_MONOTONIC: comparable across this machine's processes
    for body in bodies:
        started = time.perf_counter()
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        latencies.append(time.perf_counter() - started)
        failures += response.status >= 300
    last = time.perf_counter()
    connection.close()
    return failures, latencies, first, last


def _post_together(port: int, path: str, chunks: list[list[bytes]], headers: dict[str, str] | None = None
                   ) -> list[tuple[int, list[float], float, float]]:
    """_post_many for each chunk at once, one thread and connection each (http.client waits without the GIL)."""
    with ThreadPoolExecutor(max_workers=len(chunks)) as threads:
        return list(threads.map(_post_many, [port] * len(chunks), [path] * len(chunks), chunks,
                                [headers] * len(chunks)))


def post_load(port: int, path: str, bodies: list[dict], concurrency: int = 8,
              headers: dict[str, str] | None = None) -> dict[str, float]:
    """POST every body once over `concurrency` keep-alive connections, all of them sending at once (at most 4
    client processes, each with its share of the connections on threads); returns requests/s and latencies.

    The time runs from the first client's first request to the last client's last answer, so
    starting the client processes is not counted against the server."""
    encoded = [json.dumps(b).encode() for b in bodies]
    chunks = [encoded[i::concurrency] for i in range(concurrency)]
    processes = min(concurrency, 4)
    shares = [chunks[i::processes] for i in range(processes)]
    with ProcessPoolExecutor(max_workers=processes) as pool:
        results = [r for share in pool.map(_post_together, [port] * processes, [path] * processes, shares,
                                           [headers] * processes)
                   for r in share]
    elapsed = max(r[3] for r in results) - min(r[2] for r in results)
    latencies = sorted(lat for r in results for lat in r[1])
    return {"requests": len(encoded), "failures": sum(r[0] for r in results), "seconds": elapsed,
            "per_second": len(encoded) / elapsed, "p50_ms": 1000 * latencies[len(latencies) // 2],
            "p95_ms": 1000 * latencies[int(len(latencies) * 0.95)]}


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by every thread of process `pid` (Linux /proc)."""
    total = 0
    for thread in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{thread}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """cpu_seconds of process `pid` and of every process it started (a server with several processes)."""
    total = cpu_seconds(pid)
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as children:
            total += sum(tree_cpu_seconds(int(child)) for child in children.read().split())
    return total


def measured_load(process: subprocess.Popen, port: int, path: str, bodies: list[dict],
                  concurrency: int = 8) -> dict[str, float]:
    """post_load, plus the server's CPU milliseconds per request (all its processes'): on a shared machine
    that figure moves far less with the neighbours' load than requests per second do."""
    before = tree_cpu_seconds(process.pid)
    figures = post_load(port, path, bodies, concurrency)
    figures["cpu_ms"] = 1000 * (tree_cpu_seconds(process.pid) - before) / len(bodies)
    return figures


POSTGRES = os.environ.get("VOC_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@contextmanager
def postgres_database(prefix: str) -> Iterator[str | None]:
    """A fresh PostgreSQL database of this run's own on VOC_BENCH_POSTGRES_URL's server, dropped afterwards;
    None (and a line saying so) when the server is unreachable, so no figure is printed for it."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001 - no server: say so rather than leave the backend out silently
        print(f"\nPostgreSQL not measured: {make_url(POSTGRES).render_as_string()} is not reachable "
              f"({type(exc).__name__})")
        admin.dispose()
        yield None
        return
    try:
        yield make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    finally:
        from voc.db import dispose_engines

        dispose_engines()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def python() -> str:
    return sys.executable


def open_invitations(url: str, count: int, secret_key: str) -> list[str]:
    """Migrate `url`; one active survey (NPS, then why) and `count` open invitations for as many contacts,
    bulk-inserted (report_event takes milliseconds each: 100,000 would take minutes); returns the tokens,
    valid for a server started with `secret_key`."""
    from sqlalchemy import insert, select
    from sqlmodel import Session

    from voc.db import dispose_engines, make_engine, migrate, utcnow
    from voc.surveys import service
    from voc.surveys.models import Contact, Invitation
    from voc.surveys.schemas import SurveyCreate, TouchpointCreate
    from voc.surveys.tokens import hash_token, new_nonce, token_for

    migrate(url)
    dispose_engines()
    engine = make_engine(url)
    now = utcnow()
    nonces = [new_nonce() for _ in range(count)]
    with Session(engine) as session:
        touchpoint = service.create_touchpoint(session, TouchpointCreate(key="delivered", name="Delivered",
                                                                         stage="delivery"))
        survey = service.create_survey(session, SurveyCreate.model_validate({
            "key": "bench", "title": "Bench", "status": "active", "recontact_days": 0,
            "triggers": [{"touchpoint": "delivered"}],
            "questions": [{"id": "nps", "type": "nps", "prompt": "Recommend?", "required": True},
                          {"id": "why", "type": "text", "prompt": "Why?"}]}))
        version = service.current_version(session, survey).id
        session.execute(insert(Contact), [{"crm": "default", "external_id": f"bench-{n}", "attributes": {},
                                           "created_at": now, "updated_at": now} for n in range(count)])
        contacts = session.scalars(select(Contact.id).where(Contact.external_id.startswith("bench-"))
                                   .order_by(Contact.id)).all()
        session.execute(insert(Invitation), [
            {"token_hash": hash_token(token_for(nonce, secret_key)), "token_nonce": nonce, "survey_id": survey.id,
             "survey_version_id": version, "touchpoint_id": touchpoint.id, "contact_id": contact,
             "channel": "link", "status": "pending", "invited_at": now, "expires_at": now + timedelta(days=30),
             "created_at": now} for nonce, contact in zip(nonces, contacts, strict=True)])
        session.commit()
    engine.dispose()
    return [token_for(nonce, secret_key) for nonce in nonces]
