"""A worker inside `voc serve` gives way to customers' requests, and still gets its jobs done."""

from __future__ import annotations

import threading
import time

import pytest
from sqlmodel import Session

from tests.aio import run_async
from voc.jobs.queue import enqueue, job_handler
from voc.jobs.worker import Worker
from voc.web.activity import Activity
from voc.web.metrics import RequestMetrics


class Requests:
    """Records, in order with the jobs, how long the worker offered to wait for requests to stop."""

    def __init__(self, log: list) -> None:
        self.log = log

    def wait_quiet(self, timeout: float) -> None:
        self.log.append(("gave way", timeout))


def _jobs(engine, count: int) -> None:
    with Session(engine) as session:
        for n in range(count):
            enqueue(session, "test.step", {"n": n})
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
    assert not activity.in_flight and activity.idle.is_set()


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
        seen.append((activity.in_flight, activity.idle.is_set()))
        if scope.get("path") == "/fails":
            raise RuntimeError("handler failed")

    tracked = RequestMetrics(app, activity)
    run_async(tracked({"type": "http", "path": "/"}, None, None))
    with pytest.raises(RuntimeError):
        run_async(tracked({"type": "http", "path": "/fails"}, None, None))
    assert seen == [(1, False), (1, False)]
    assert activity.in_flight == 0 and activity.idle.is_set()  # a failing request is counted out too
    run_async(tracked({"type": "lifespan"}, None, None))
    assert seen[-1] == (0, True)  # not a request: not counted
