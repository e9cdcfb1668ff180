"""`voc serve` (or `voc worker`) in a subprocess on a test's database, and crowds of simultaneous requests."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from tests.aio import run_async


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    base: str
    log_path: str

    @property
    def log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as log:
            return log.read()

    def metric(self, name: str) -> float:
        """One value of the server's /metrics."""
        text = httpx.get(f"{self.base}/metrics", timeout=10).text
        match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
        assert match, f"{name} not in /metrics"
        return float(match.group(1))

    def kill(self) -> None:
        """kill -9: no shutdown, no flush, no goodbye."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


def voc_env(database_url: str, **settings: str) -> dict[str, str]:
    # Every request of a crowd comes from this one loopback address, standing for many customers: the
    # per-address limit of public routes would otherwise answer 429 (tests/web covers that limit).
    return {**os.environ, "VOC_DATABASE_URL": database_url, "VOC_LOG_LEVEL": "WARNING",
            "VOC_PUBLIC_REQUESTS_PER_MINUTE": "1000000", "VOC_PUBLIC_BURST": "100000",
            **{f"VOC_{name.upper()}": value for name, value in settings.items()}}


@contextmanager
def _voc(command: list[str], database_url: str, log_path: str, settings: dict[str, str]
         ) -> Iterator[subprocess.Popen]:
    """`voc <command>` with its output in `log_path`, stopped (if the test has not killed it) when the block ends."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "voc.cli", *command], env=voc_env(database_url, **settings),
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


@contextmanager
def voc_worker(database_url: str, log_dir: str, name: str, **settings: str) -> Iterator[subprocess.Popen]:
    """`voc worker` until the block ends (or the test kills it)."""
    with _voc(["worker"], database_url, os.path.join(log_dir, f"worker-{name}.log"), settings) as process:
        yield process


@contextmanager
def voc_serve(database_url: str, log_dir: str, *args: str, **settings: str) -> Iterator[Server]:
    """`voc serve` on a free port until the block ends; its output goes to a file the test can read."""
    port = free_port()
    log_path = os.path.join(log_dir, f"serve-{port}.log")
    with _voc(["serve", "--port", str(port), *args], database_url, log_path, settings) as process:
        server = Server(process, f"http://127.0.0.1:{port}", log_path)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{server.base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, server.log
            time.sleep(0.1)
        yield server


@dataclass
class Crowd:
    """What a crowd of simultaneous requests got, and how /healthz answered meanwhile."""

    answers: list[httpx.Response | Exception] = field(default_factory=list)  # in the order sent
    seconds: list[float] = field(default_factory=list)  # each request's time, in the same order
    health: list[float] = field(default_factory=list)  # /healthz latencies sampled during the crowd

    @property
    def statuses(self) -> list[int | str]:
        return [a.status_code if isinstance(a, httpx.Response) else type(a).__name__ for a in self.answers]

    @property
    def server_errors(self) -> list:
        return [s for s in self.statuses if not isinstance(s, int) or s >= 500]


def crowd(base: str, requests: list[tuple[str, str, dict]], *, cookies: httpx.Cookies | None = None,
          timeout: float = 60.0) -> Crowd:
    """Send every (method, path, httpx keyword arguments) at once, each on a connection of its own, while
    /healthz is sampled every 20 ms on another; returns what each got."""
    result = Crowd()

    result.answers = [None] * len(requests)  # type: ignore[list-item]
    result.seconds = [0.0] * len(requests)

    async def one(client: httpx.AsyncClient, start: asyncio.Event, index: int, method: str, path: str,
                  kwargs: dict) -> None:
        await start.wait()
        began = time.monotonic()
        try:
            answer = await client.request(method, path, **kwargs)
        except Exception as exc:  # a timeout or a dropped connection is a finding, not a test error
            answer = exc
        result.seconds[index] = time.monotonic() - began
        result.answers[index] = answer

    async def sample_health(done: asyncio.Event) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=timeout) as probe:
            while not done.is_set():
                began = time.monotonic()
                assert (await probe.get("/healthz")).status_code == 200
                result.health.append(time.monotonic() - began)
                await asyncio.sleep(0.02)

    async def scenario() -> None:
        limits = httpx.Limits(max_connections=len(requests) + 1, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=base, timeout=timeout, limits=limits, cookies=cookies) as client:
            start, done = asyncio.Event(), asyncio.Event()
            tasks = [asyncio.create_task(one(client, start, i, *request)) for i, request in enumerate(requests)]
            health = asyncio.create_task(sample_health(done))
            await asyncio.sleep(0.1)  # every request waits at the gate
            start.set()
            await asyncio.gather(*tasks)
            done.set()
            await health

    run_async(scenario())
    return result
