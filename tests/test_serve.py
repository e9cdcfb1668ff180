"""`voc serve` as a newcomer meets it: the process answers health checks and documents the contract, on
SQLite and on PostgreSQL; and `voc serve --workers N` serves one database from several processes."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlmodel import Session

from voc.auth.service import create_api_key
from voc.db import make_engine

CONTRACT = [
    ("post", "/api/v1/touchpoints"), ("get", "/api/v1/touchpoints"), ("post", "/api/v1/surveys"),
    ("get", "/api/v1/surveys"), ("get", "/api/v1/surveys/{key}"), ("patch", "/api/v1/surveys/{key}"),
    ("post", "/api/v1/events"), ("post", "/api/v1/responses"), ("get", "/api/v1/responses"),
    ("get", "/api/v1/responses/{response_id}"), ("get", "/api/v1/contacts/{external_id}/experience"),
    ("get", "/api/v1/metrics"), ("post", "/api/v1/webhooks"), ("get", "/api/v1/webhooks"),
    ("get", "/api/v1/healthz".replace("/api/v1", "")), ("get", "/readyz"), ("get", "/metrics"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _serving(database_url: str, *args: str, log_level: str = "WARNING") -> Iterator[tuple[subprocess.Popen, str]]:
    """`voc serve` with `args` on a free port, once /healthz answers; stopped (SIGTERM) when the block ends."""
    port = _free_port()
    env = {**os.environ, "VOC_DATABASE_URL": database_url, "VOC_LOG_LEVEL": log_level}
    process = subprocess.Popen([sys.executable, "-m", "voc.cli", "serve", "--port", str(port), *args], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/healthz")
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    process.terminate()  # first: reading the error output of a live process never ends
                    errors = process.communicate(timeout=10)[1].decode()
                    raise AssertionError(f"voc serve did not answer: {errors}") from None
                time.sleep(0.1)
        yield process, base
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def serve_database(request: pytest.FixtureRequest, tmp_path) -> str:
    """A database for `voc serve`: a new SQLite file (which it migrates on its first start), or PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'voc.db'}"
    return request.getfixturevalue("postgres_url")


def test_serve_answers_health_and_lists_the_contract(serve_database):
    with _serving(serve_database) as (_, base):
        assert httpx.get(f"{base}/healthz").status_code == 200
        assert httpx.get(f"{base}/readyz").json() == {"status": "ready"}
        assert "voc_responses_total 0" in httpx.get(f"{base}/metrics").text
        assert httpx.get(f"{base}/docs").status_code == 200
        paths = httpx.get(f"{base}/openapi.json").json()["paths"]
        missing = [(method, path) for method, path in CONTRACT if method not in paths.get(path, {})]
        assert missing == []
        assert "deliveries" in "".join(paths)  # webhook deliveries and replay


def test_several_processes_on_sqlite_are_refused_in_one_line(tmp_path):
    env = {**os.environ, "VOC_DATABASE_URL": f"sqlite:///{tmp_path / 'voc.db'}"}
    done = subprocess.run([sys.executable, "-m", "voc.cli", "serve", "--workers", "2", "--port", str(_free_port())],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "--workers needs PostgreSQL" in done.stderr
    assert not (tmp_path / "voc.db").exists()  # refused before touching anything


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as children:
        return [int(child) for child in children.read().split()]


def _serving_pid(server_port: int, client_port: int, pids: list[int]) -> int | None:
    """Which of `pids` holds the server's end of the loopback connection from `client_port` (Linux /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                local, remote = (int(address.rsplit(":", 1)[1], 16) for address in fields[1:3])
                if (local, remote) == (server_port, client_port):
                    inodes.add(f"socket:[{fields[9]}]")
    for pid in pids:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    return pid
            except OSError:  # closed meanwhile
                continue
    return None


def _call(connection: http.client.HTTPConnection, method: str, path: str, key: str,
          body: dict | None = None) -> tuple[int, object]:
    connection.request(method, path, body=json.dumps(body) if body else None,
                       headers={"Authorization": f"Bearer {key}", "content-type": "application/json"})
    answer = connection.getresponse()
    return answer.status, json.loads(answer.read() or b"null")


@pytest.mark.postgres
@pytest.mark.slow
def test_two_serving_processes_share_the_port_and_the_data(postgres_url):
    engine = make_engine(postgres_url)
    with Session(engine) as session:
        _, key = create_api_key(session, "test", ["admin"])
        session.commit()
    engine.dispose()
    with _serving(postgres_url, "--workers", "2", log_level="INFO") as (process, base):
        port = int(base.rsplit(":", 1)[1])
        # Connections are accepted by whichever process is free first: open some until both have one.
        by_pid: dict[int, http.client.HTTPConnection] = {}
        deadline = time.monotonic() + 30
        while len(by_pid) < 2 and time.monotonic() < deadline:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            assert _call(connection, "GET", "/healthz", key)[0] == 200
            pid = _serving_pid(port, connection.sock.getsockname()[1], _children(process.pid))
            assert pid is not None and pid != process.pid
            if pid in by_pid:
                connection.close()
            else:
                by_pid[pid] = connection
        assert len(by_pid) == 2, "every connection went to one process"
        first, second = by_pid.values()
        status, _ = _call(first, "POST", "/api/v1/touchpoints", key,
                          {"key": "order_delivered", "name": "Order delivered", "stage": "delivery"})
        assert status == 201
        status, listed = _call(second, "GET", "/api/v1/touchpoints", key)
        assert status == 200 and [t["key"] for t in listed] == ["order_delivered"]
        # The same key made twice, once through each process: the database refuses the second.
        assert _call(second, "POST", "/api/v1/touchpoints", key,
                     {"key": "order_delivered", "name": "Again", "stage": "delivery"})[0] == 409
        for connection in by_pid.values():
            connection.close()
    # Each process ran a job worker of its own (worker ids are host:pid:random): the documented choice.
    log = process.stderr.read().decode()
    for pid in by_pid:
        assert re.search(rf"worker \S+:{pid}:\w+ started", log), log
