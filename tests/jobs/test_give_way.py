"""A worker inside `voc serve` gives way to customers' requests, and still gets its jobs done."""

from __future__ import annotations

import threading
import time

import pytest
from sqlmodel import Session

from tests.aio import run_async
from voc.jobs.queue import enqueue, job_handler
from voc.jobs.worker import Worker
from voc.web.activity import Activity, TrackActivity


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


def test_between_jobs_the_worker_gives_way_nine_times_as_long_as_its_last_job_took(engine, handlers):
    log: list = []

    @job_handler("test.step")
    def step(session, payload):
        log.append(f"job {payload['n']}")
        time.sleep(0.02)

    _jobs(engine, 2)
    assert Worker(engine, give_way_to=Requests(log)).run_until_idle() == 2
    assert [entry if isinstance(entry, str) else entry[0] for entry in log] == ["job 0", "gave way", "job 1"]
    assert 9 * 0.02 <= log[1][1] < 9 * 1.0  # nine times the job's 20 ms (and its own overhead)


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

    tracked = TrackActivity(app, activity)
    run_async(tracked({"type": "http", "path": "/"}, None, None))
    with pytest.raises(RuntimeError):
        run_async(tracked({"type": "http", "path": "/fails"}, None, None))
    assert seen == [(1, False), (1, False)]
    assert activity.in_flight == 0 and activity.idle.is_set()  # a failing request is counted out too
    run_async(tracked({"type": "lifespan"}, None, None))
    assert seen[-1] == (0, True)  # not a request: not counted
