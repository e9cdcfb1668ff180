"""Staged lane jobs (webhook deliveries): a worker reads a claimed batch's jobs in one transaction, runs their
requests on lanes, and commits the results that arrive together in one transaction, each only while the
worker still holds its job; one job's failure or lost lease leaves the others' results in place."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, update
from sqlmodel import Session

from voc.db import GroupWriter
from voc.jobs.models import Job
from voc.jobs.queue import Defer, enqueue, staged_handler
from voc.jobs.worker import Worker
from voc.surveys.models import Touchpoint

KIND = "test.staged"


class Staged:
    """A staged kind whose `write` adds a touchpoint per job, with hooks for what a test needs to break."""

    def __init__(self) -> None:
        self.loads: list[list[int]] = []
        self.sessions: list = []  # the sessions themselves (kept alive, so two are never taken for one)
        self.act_hook = lambda n: None
        self.write_hook = lambda n: None
        self.load_hook = lambda ns: None

    def load(self, session, payloads):
        ns = [payload["n"] for payload in payloads]
        self.loads.append(ns)
        self.load_hook(ns)
        return [Defer("later", 30) if n == 99 else n for n in ns]

    def act(self, n):
        self.act_hook(n)
        return f"sent {n}"

    def write(self, session, n, result):
        if not any(session is seen for seen in self.sessions):
            self.sessions.append(session)
        self.write_hook(n)
        session.add(Touchpoint(key=f"t{n}", name=result, stage="usage"))
        session.flush()


@pytest.fixture
def staged(handlers):
    kind = Staged()
    staged_handler(KIND, lane=lambda payload: f"lane-{payload['n']}", load=kind.load, act=kind.act, write=kind.write)
    return kind


def _add(engine, numbers) -> dict[int, int]:
    with Session(engine) as session:
        ids = {n: enqueue(session, KIND, {"n": n}) for n in numbers}
        session.commit()
    return ids


def _state(engine):
    with Session(engine) as session:
        jobs = {job.id: job for job in session.scalars(select(Job))}
        written = {tp.key: tp.name for tp in session.scalars(select(Touchpoint))}
    return jobs, written


class HeldWriter(GroupWriter):
    """A result writer that starts writing only once `gate` is set, so every result queues before it does
    (holding the real one with a write of our own would hold SQLite's lock, and the claims with it)."""

    def __init__(self, engine, gate: threading.Event) -> None:
        self.gate = gate
        super().__init__(engine)

    def _run(self) -> None:
        self.gate.wait(10)
        super()._run()


def _hold_the_writer(worker: Worker) -> threading.Event:
    """Results of `worker` wait until the event is set."""
    gate = threading.Event()
    writer = HeldWriter(worker.engine, gate)
    worker.settler = lambda: writer
    return gate


def test_a_claimed_batch_is_read_once_and_its_results_commit_in_one_transaction(engine, staged):
    ids = _add(engine, range(6))
    worker = Worker(engine, batch=10)
    gate = _hold_the_writer(worker)
    acted = threading.Barrier(6, timeout=10)
    staged.act_hook = lambda n: acted.wait()  # all six requests out at once, each on its own lane
    runner = threading.Thread(target=worker.run_until_idle)
    runner.start()
    threading.Timer(0.3, gate.set).start()  # the six results are queued by then
    runner.join(30)
    jobs, written = _state(engine)
    assert staged.loads == [[0, 1, 2, 3, 4, 5]]  # one read for the batch
    assert written == {f"t{n}": f"sent {n}" for n in range(6)}
    assert {jobs[i].status for i in ids.values()} == {"done"}
    assert len(staged.sessions) == 1  # one transaction for the six results


def test_a_lost_lease_leaves_nothing_of_its_job_and_the_batch_commits_the_rest(engine, staged):
    ids = _add(engine, [0, 1, 2])
    worker = Worker(engine, batch=10)
    gate = _hold_the_writer(worker)

    def take_over(n):
        if n == 1:  # its lease ran out while the request was out, and another worker took the job
            with Session(engine) as other:
                other.execute(update(Job).where(Job.id == ids[1]).values(locked_by="rescuer"))
                other.commit()

    staged.act_hook = take_over
    threading.Timer(0.3, gate.set).start()
    worker.run_until_idle()
    jobs, written = _state(engine)
    assert written == {"t0": "sent 0", "t2": "sent 2"}  # not the lapsed job's result
    assert jobs[ids[1]].locked_by == "rescuer" and jobs[ids[1]].status == "running"  # still the rescuer's
    assert jobs[ids[0]].status == jobs[ids[2]].status == "done"
    assert len(staged.sessions) == 1  # the others committed together, the refusal took nothing with it


def test_a_result_that_cannot_be_written_fails_only_its_own_job(engine, staged):
    ids = _add(engine, [0, 1, 2])

    def broken(n):
        if n == 1:
            raise ValueError("no such column")

    staged.write_hook = broken
    Worker(engine).run_until_idle()
    jobs, written = _state(engine)
    assert written == {"t0": "sent 0", "t2": "sent 2"}
    failed = jobs[ids[1]]
    assert failed.status == "queued" and "no such column" in failed.last_error  # retried after a backoff
    assert jobs[ids[0]].status == jobs[ids[2]].status == "done"


def test_a_batch_that_cannot_be_read_together_is_read_job_by_job(engine, staged):
    ids = _add(engine, [0, 1, 2])

    def unreadable(ns):
        if 1 in ns:
            raise RuntimeError("a row that does not load")

    staged.load_hook = unreadable
    Worker(engine).run_until_idle()
    jobs, written = _state(engine)
    assert staged.loads == [[0, 1, 2], [0], [1], [2]]
    assert written == {"t0": "sent 0", "t2": "sent 2"}
    assert jobs[ids[1]].status == "queued" and "does not load" in jobs[ids[1]].last_error
    assert jobs[ids[1]].attempts == 1  # the failed read was an attempt


def test_a_job_put_back_by_its_read_is_due_later_and_not_an_attempt(engine, staged):
    ids = _add(engine, [0, 99])
    Worker(engine).run_until_idle()
    jobs, written = _state(engine)
    later = jobs[ids[99]]
    assert later.status == "queued" and later.attempts == 0 and later.locked_by is None
    assert written == {"t0": "sent 0"}


def test_a_stopping_worker_commits_the_results_of_the_requests_it_sent(engine, staged):
    ids = _add(engine, range(4))
    worker = Worker(engine)
    gate = _hold_the_writer(worker)
    sent = threading.Barrier(5, timeout=10)
    staged.act_hook = lambda n: sent.wait()
    runner = threading.Thread(target=worker.run_forever)
    runner.start()
    sent.wait()  # the four requests have gone out; their results wait behind the held writer
    worker.stop()
    threading.Timer(0.2, gate.set).start()
    runner.join(30)
    assert not runner.is_alive()
    jobs, written = _state(engine)
    assert len(written) == 4 and {jobs[i].status for i in ids.values()} == {"done"}
