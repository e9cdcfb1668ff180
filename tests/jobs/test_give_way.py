"""A worker inside `voc serve` gives way to customers' requests, and still gets its jobs done."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta

import pytest
from sqlmodel import Session

from tests.aio import run_async
from voc.db import utcnow
from voc.jobs.queue import enqueue, job_handler
from voc.jobs.worker import QUIET_MOMENT_WAIT, Worker
from voc.web.activity import QUIET_SECONDS, Activity
from voc.web.metrics import RequestMetrics


class Requests:
    """Records, in order with the jobs, how long the worker offered to wait for requests to stop."""

    def __init__(self, log: list) -> None:
        self.log = log

    def wait_quiet(self, timeout: float) -> None:
        self.log.append(("gave way", timeout))


def _jobs(engine, count: int, due_for: float = 60.0) -> None:
    """`count` jobs that fell due `due_for` seconds ago (by default a backlog long past its quiet-moment wait)."""
    with Session(engine) as session:
        for n in range(count):
            enqueue(session, "test.step", {"n": n}, run_at=utcnow() - timedelta(seconds=due_for))
        session.commit()


class FakeClock:
    """The worker's `time` module with a monotonic clock that moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def __getattr__(self, name: str):  # noqa: ANN204 - sleep and the rest stay real
        return getattr(time, name)


def test_between_jobs_the_worker_gives_way_nine_times_as_long_as_its_last_job_took(engine, handlers,
                                                                                   monkeypatch):
    log: list = []
    clock = FakeClock()
    monkeypatch.setattr("voc.jobs.worker.time", clock)

    @job_handler("test.step")
    def step(session, payload):
        log.append(f"job {payload['n']}")
        clock.now += 0.02 * (payload["n"] + 1)  # the first job takes 20 ms, the second 40 ms

    _jobs(engine, 3)
    assert Worker(engine, give_way_to=Requests(log)).run_until_idle() == 3
    assert [entry if isinstance(entry, str) else entry[0] for entry in log] == [
        "job 0", "gave way", "job 1", "gave way", "job 2"]
    # Under load a request gets 90% of the time: 9 × 20 ms after the first job, 9 × 40 ms after the second.
    assert log[1][1] == pytest.approx(0.18) and log[3][1] == pytest.approx(0.36)


def test_a_job_that_fell_due_a_moment_ago_first_waits_for_a_quiet_moment_until_it_is_a_second_old(
        engine, handlers, monkeypatch):
    log: list = []
    monkeypatch.setattr("voc.jobs.worker.time", FakeClock())  # jobs take no time: no share is owed

    @job_handler("test.step")
    def step(session, payload):
        log.append(f"job {payload['n']}")

    _jobs(engine, 1, due_for=0.25)  # a burst's answer: its jobs wait for the burst to end, 0.75 s at most
    _jobs(engine, 1, due_for=5.0)  # the backlog of a long burst: no more waiting than its share
    Worker(engine, give_way_to=Requests(log)).run_until_idle()
    assert [entry if isinstance(entry, str) else entry[0] for entry in log] == ["job 0", "gave way", "job 0"]
    # The job due 5 s ago runs first (oldest first) without a wait; the one due 0.25 s ago waits for a
    # quiet moment until it is QUIET_MOMENT_WAIT old.
    assert 0.5 < log[1][1] <= QUIET_MOMENT_WAIT - 0.25 + 0.01


def test_without_a_web_server_the_worker_never_waits(engine, handlers):
    log: list[str] = []

    @job_handler("test.step")
    def step(session, payload):
        log.append(f"job {payload['n']}")

    _jobs(engine, 3)
    assert Worker(engine).run_until_idle() == 3
    assert log == ["job 0", "job 1", "job 2"]


def test_waiting_for_quiet_ends_with_the_last_request_or_the_timeout():
    # Long timeouts: a wait that ran into one (instead of ending as it should) is caught by the bounds below.
    activity = Activity()
    started = time.monotonic()
    activity.wait_quiet(60)  # nothing in flight, nothing lately
    assert time.monotonic() - started < 30
    activity.started()
    started = time.monotonic()
    activity.wait_quiet(0.05)  # a request that never ends: the timeout ends the wait
    assert time.monotonic() - started >= 0.05
    threading.Timer(0.05, activity.ended).start()
    started = time.monotonic()
    activity.wait_quiet(60)  # woken when the request ends
    assert time.monotonic() - started < 30
    assert not activity.in_flight and activity.quiet.is_set()


def test_a_waiting_worker_is_woken_once_the_stream_of_requests_pauses_not_between_requests():
    """Under load the last request in flight ends many times a millisecond; a worker woken each time would
    take the GIL from the loop over and over. It is woken when no request has been in flight for
    QUIET_SECONDS, however many ended before.

    The stream's gaps are meant to be 1 ms, but a busy machine can stretch one past QUIET_SECONDS, and
    waking then is right. So the test records every gap as it was and expects the wake after the first
    one that really lasted QUIET_SECONDS (the final pause when none did)."""
    activity = Activity()
    activity.started()  # a stream of requests, one after the other, each 1 ms with 1 ms between them
    woken: list[float] = []
    waiter = threading.Thread(target=lambda: (activity.wait_quiet(60), woken.append(time.monotonic())))
    waiter.start()
    gaps: list[tuple[float, float]] = []  # (last request ended, next one started)

    async def stream() -> None:
        activity.ended()
        for _ in range(100):
            ended = activity.last_end
            await asyncio.sleep(0.001)
            gaps.append((ended, time.monotonic()))
            activity.started()
            await asyncio.sleep(0.001)
            activity.ended()
        gaps.append((activity.last_end, float("inf")))
        await asyncio.sleep(0.5)  # the server runs on (its loop looks for the pause)

    run_async(stream())
    waiter.join(30)
    pause_began = next(ended for ended, next_began in gaps if next_began - ended >= QUIET_SECONDS)
    assert len(gaps) == 101 and all(next_began > ended for ended, next_began in gaps)
    assert woken and woken[0] >= pause_began + QUIET_SECONDS  # not before a pause, however many ends came first
    assert woken[0] < pause_began + 5  # and not the 60 s timeout either


def test_under_requests_that_never_stop_every_job_still_runs(engine, handlers):
    ran: list[int] = []
    activity = Activity()
    activity.started()  # and never ends

    @job_handler("test.step")
    def step(session, payload):
        ran.append(payload["n"])

    _jobs(engine, 5)
    assert Worker(engine, give_way_to=activity).run_until_idle() == 5
    assert ran == [0, 1, 2, 3, 4]


def test_the_middleware_counts_requests_in_flight():
    activity = Activity()
    seen: list[bool] = []

    async def app(scope, receive, send):
        seen.append((activity.in_flight, activity.quiet.is_set()))
        if scope.get("path") == "/fails":
            raise RuntimeError("handler failed")

    tracked = RequestMetrics(app, activity)

    async def serve(path: str) -> None:
        try:
            await tracked({"type": "http", "path": path}, None, None)
        finally:
            await asyncio.sleep(0.1)  # the server runs on (its loop looks for the pause)

    run_async(serve("/"))
    with pytest.raises(RuntimeError):
        run_async(serve("/fails"))
    assert seen == [(1, False), (1, False)]
    assert activity.in_flight == 0 and activity.quiet.is_set()  # a failing request is counted out too
    run_async(tracked({"type": "lifespan"}, None, None))
    assert seen[-1] == (0, True)  # not a request: not counted
