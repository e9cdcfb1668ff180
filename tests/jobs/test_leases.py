"""Jobs are never stranded: leases renewed while a job runs, effects kept only by the lease holder,
unstarted jobs given back at once, and the in-process worker's wait for quiet never fails."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from sqlalchemy import select, update
from sqlmodel import Session

from tests.aio import run_async
from voc.config import get_settings
from voc.jobs import worker as worker_module
from voc.jobs.models import Job
from voc.jobs.queue import claim_due_jobs, enqueue, job_handler, run_job
from voc.jobs.worker import Worker
from voc.surveys.models import Touchpoint
from voc.web.activity import QUIET_SECONDS, Activity


def _add(engine, kind, count=1):
    with Session(engine) as session:
        ids = [enqueue(session, kind, {"n": n}) for n in range(count)]
        session.commit()
    return ids


def _jobs(engine):
    with Session(engine) as session:
        return {job.id: job for job in session.scalars(select(Job))}


@pytest.fixture
def short_lease(monkeypatch):
    monkeypatch.setenv("VOC_JOB_LEASE_SECONDS", "0.6")
    get_settings.cache_clear()


def test_a_running_job_keeps_its_lease_while_a_dead_workers_job_is_taken_over(engine, handlers, short_lease):
    running = threading.Event()
    finish = threading.Event()

    @job_handler("test.slow")
    def slow(session, payload):
        running.set()
        assert finish.wait(10)

    [slow_id] = _add(engine, "test.slow")
    busy = Worker(engine, batch=1)
    thread = threading.Thread(target=busy.run_once)
    thread.start()
    try:
        assert running.wait(10)
        [orphan_id] = _add(engine, "test.orphan")
        assert [job.id for job in claim_due_jobs(engine, "dead-worker")] == [orphan_id]  # then it "dies"
        time.sleep(1.5)  # two and a half leases: the slow job's heartbeat renewed it, the orphan's lapsed
        taken = [job.id for job in claim_due_jobs(engine, "rescuer")]
        assert taken == [orphan_id]
    finally:
        finish.set()
        thread.join(10)
    assert _jobs(engine)[slow_id].status == "done"


def test_a_worker_that_lost_its_lease_commits_nothing(engine, handlers):
    @job_handler("test.write")
    def write(session, payload):
        # While it ran, its lease ran out and another worker took the job over (on SQLite the job's
        # own transaction begins at its first write, so the takeover comes first here).
        with Session(engine) as other:
            other.execute(update(Job).values(locked_by="rescuer"))
            other.commit()
        session.add(Touchpoint(key="from-lapsed-worker", name="x", stage="usage"))
        session.flush()

    _add(engine, "test.write")
    [job] = claim_due_jobs(engine, "lapsed")
    assert run_job(engine, job, "lapsed") == "lost"
    with Session(engine) as session:
        assert session.scalars(select(Touchpoint)).all() == []  # its effects were rolled back
        assert session.get(Job, job.id).locked_by == "rescuer"  # and the job is still the rescuer's


def test_a_failure_between_claiming_and_running_gives_the_rest_of_the_batch_back_at_once(
        engine, handlers, monkeypatch):
    ran = []

    @job_handler("test.step")
    def step(session, payload):
        ran.append(payload["n"])

    ids = _add(engine, "test.step", 5)
    worker = Worker(engine, batch=5)
    calls = {"n": 0}

    def give_way_that_fails(job):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("between two jobs")

    monkeypatch.setattr(worker, "_give_way", give_way_that_fails)
    with pytest.raises(RuntimeError):
        worker.run_once()
    jobs = _jobs(engine)
    assert ran == [0, 1]
    assert [jobs[i].status for i in ids] == ["done", "done", "queued", "queued", "queued"]
    assert all(jobs[i].attempts == 0 and jobs[i].locked_by is None for i in ids[2:])  # not an attempt
    assert sorted(job.id for job in claim_due_jobs(engine, "next")) == ids[2:]  # due now, not after a lease


def test_a_stopping_worker_gives_back_what_it_claimed_and_did_not_start(engine, handlers):
    worker = Worker(engine, batch=4)

    @job_handler("test.step")
    def step(session, payload):
        worker.stop()

    ids = _add(engine, "test.step", 4)
    assert worker.run_once() == 1
    jobs = _jobs(engine)
    assert [jobs[i].status for i in ids] == ["done", "queued", "queued", "queued"]


def test_the_heartbeat_renews_every_third_of_the_lease(engine, short_lease, monkeypatch):
    beats = []
    monkeypatch.setattr(worker_module, "renew_leases", lambda engine, worker_id: beats.append(worker_id) or 0)
    with worker_module.Heartbeat(engine, "w1"):
        time.sleep(0.75)  # 0.2 s beats
    time.sleep(0.3)
    assert 2 <= len(beats) <= 4 and set(beats) == {"w1"}  # and none after the batch ended


def test_waiting_for_quiet_survives_a_request_starting_as_it_looks():
    """The race seen in a run: the last request ended and, before the worker looked, a new one began; the
    old code computed a negative sleep and raised ValueError, stranding its batch. Now the look is the
    server's own, QUIET_SECONDS after the last request ended, and a request begun since keeps it busy."""
    activity = Activity()

    async def server() -> float:  # the requests, on an event loop of their own as in `voc serve`
        activity.started()
        activity.ended()  # the look is due QUIET_SECONDS from now ...
        activity.started()  # ... and a new request begins before it
        started = time.monotonic()
        await asyncio.to_thread(activity.wait_quiet, 0.2)  # no ValueError; waits for the request in flight
        waited = time.monotonic() - started
        assert not activity.quiet.is_set()
        activity.ended()
        await asyncio.to_thread(activity.wait_quiet, 30)
        return waited

    assert 0.2 <= run_async(server()) < 5
    assert activity.quiet.is_set() and time.monotonic() - activity.last_end >= QUIET_SECONDS
