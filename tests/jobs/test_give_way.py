"""A worker inside `voc serve` gives way to customers' requests, and still gets its jobs done."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from tests.aio import run_async
from voc.jobs.queue import HANDLERS, enqueue, job_handler
from voc.jobs.worker import Worker
from voc.web.activity import Activity, TrackActivity


@pytest.fixture
def handlers():
    saved = dict(HANDLERS)
    yield HANDLERS
    HANDLERS.clear()
    HANDLERS.update(saved)


class Requests:
    """Requests in flight for the first `busy_polls` looks, then none; records what happened in order."""

    def __init__(self, log: list[str], busy_polls: int) -> None:
        self.log, self.left = log, busy_polls

    def busy(self) -> bool:
        self.left -= 1
        self.log.append("busy" if self.left >= 0 else "idle")
        return self.left >= 0


def _jobs(engine, count: int) -> None:
    with Session(engine) as session:
        for n in range(count):
            enqueue(session, "test.step", {"n": n})
        session.commit()


def test_between_jobs_the_worker_waits_while_requests_are_served(engine, handlers):
    log: list[str] = []

    @job_handler("test.step")
    def step(session, payload):
        log.append(f"job {payload['n']}")
        import time
        time.sleep(0.02)  # long enough that the worker owes the requests a while

    _jobs(engine, 2)
    assert Worker(engine, give_way_to=Requests(log, busy_polls=3)).run_until_idle() == 2
    assert log == ["job 0", "busy", "busy", "busy", "idle", "job 1"]


def test_without_a_web_server_the_worker_never_waits(engine, handlers):
    log: list[str] = []

    @job_handler("test.step")
    def step(session, payload):
        log.append(f"job {payload['n']}")

    _jobs(engine, 3)
    assert Worker(engine).run_until_idle() == 3
    assert log == ["job 0", "job 1", "job 2"]


def test_under_requests_that_never_stop_every_job_still_runs(engine, handlers):
    ran: list[int] = []

    class AlwaysBusy:
        def busy(self) -> bool:
            return True

    @job_handler("test.step")
    def step(session, payload):
        ran.append(payload["n"])

    _jobs(engine, 5)
    assert Worker(engine, give_way_to=AlwaysBusy()).run_until_idle() == 5
    assert ran == [0, 1, 2, 3, 4]


def test_the_middleware_counts_requests_in_flight():
    activity = Activity()
    seen: list[bool] = []

    async def app(scope, receive, send):
        seen.append((activity.in_flight, activity.busy()))
        if scope.get("path") == "/fails":
            raise RuntimeError("handler failed")

    tracked = TrackActivity(app, activity)
    run_async(tracked({"type": "http", "path": "/"}, None, None))
    with pytest.raises(RuntimeError):
        run_async(tracked({"type": "http", "path": "/fails"}, None, None))
    assert seen == [(1, True), (1, True)]
    assert activity.in_flight == 0  # a failing request is counted out too
    assert activity.busy()  # one just ended
    run_async(tracked({"type": "lifespan"}, None, None))
    assert seen[-1] == (0, True)  # not a request: not counted
