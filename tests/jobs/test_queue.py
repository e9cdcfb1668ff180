"""The durable job queue: atomic claims, retries with backoff, dead jobs keep their error."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlmodel import Session

from voc.db import utcnow
from voc.jobs.models import Job
from voc.jobs.queue import GiveUp, RetryLater, claim_due_jobs, enqueue, job_handler, run_job
from voc.surveys.models import Touchpoint


def _add(engine, kind, payload=None, **kw):
    with Session(engine) as session:
        job_id = enqueue(session, kind, payload or {}, **kw)
        session.commit()
        return job_id


def _job(engine, job_id):
    with Session(engine) as session:
        return session.get(Job, job_id)


def test_a_job_runs_once_and_its_effect_commits_with_it(engine, handlers):
    @job_handler("test.touchpoint")
    def make(session, payload):
        session.add(Touchpoint(key=payload["key"], name="x", stage="usage"))

    job_id = _add(engine, "test.touchpoint", {"key": "tp1"})
    claimed = claim_due_jobs(engine, "w1")
    assert [job.id for job in claimed] == [job_id]
    assert claim_due_jobs(engine, "w2") == []
    assert run_job(engine, claimed[0], "w1") == "done"
    with Session(engine) as session:
        assert session.scalars(select(Touchpoint.key)).all() == ["tp1"]
    assert _job(engine, job_id).status == "done"


def test_a_failing_job_is_retried_later_then_dead_with_its_error(engine, handlers):
    @job_handler("test.fail")
    def fail(session, payload):
        session.add(Touchpoint(key="never", name="x", stage="usage"))
        raise RuntimeError("receiver said no")

    job_id = _add(engine, "test.fail", max_attempts=2)
    job = claim_due_jobs(engine, "w")[0]
    assert run_job(engine, job, "w") == "queued"
    retried = _job(engine, job_id)
    assert retried.run_at > utcnow() and "receiver said no" in retried.last_error
    assert claim_due_jobs(engine, "w") == []  # not due yet
    with Session(engine) as session:
        session.execute(update(Job).values(run_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    job = claim_due_jobs(engine, "w")[0]
    assert job.attempts == 2
    assert run_job(engine, job, "w") == "dead"
    dead = _job(engine, job_id)
    assert dead.status == "dead" and "RuntimeError: receiver said no" in dead.last_error
    with Session(engine) as session:  # the failed attempts left nothing behind
        assert session.scalars(select(Touchpoint)).all() == []


@pytest.mark.parametrize("database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_a_job_that_meets_a_held_postgres_row_lock_gives_up_its_wait_and_runs_again(database_url, handlers,
                                                                                     monkeypatch):
    """A job must change a row another transaction holds (an operator's psql session left open): it waits
    VOC_DB_LOCK_TIMEOUT_SECONDS, not as long as the holder, so the worker goes on with its other jobs; the job
    is queued again with the lock's error and does its work once the row is free."""
    import psycopg

    from voc.config import get_settings
    from voc.db import make_engine

    monkeypatch.setenv("VOC_DB_LOCK_TIMEOUT_SECONDS", "0.3")
    get_settings.cache_clear()
    engine = make_engine(database_url)

    @job_handler("test.rename")
    def rename(session, payload):
        session.execute(update(Touchpoint).where(Touchpoint.key == "held").values(name=payload["name"]))

    with Session(engine) as session:
        session.add(Touchpoint(key="held", name="before", stage="usage"))
        session.commit()
    job_id = _add(engine, "test.rename", {"name": "after"})
    try:
        with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://")) as holder:
            holder.execute("UPDATE touchpoint SET name = 'holder'")  # the row lock, until rollback
            released = threading.Timer(10, holder.rollback)  # a job that waits on must still let the test end
            released.start()
            job = claim_due_jobs(engine, "w")[0]
            outcome = run_job(engine, job, "w")
            released.cancel()
            holder.rollback()
        assert outcome == "queued"
        waiting = _job(engine, job_id)
        assert waiting.attempts == 1 and "lock timeout" in waiting.last_error
        with Session(engine) as session:
            session.execute(update(Job).values(run_at=utcnow() - timedelta(seconds=1)))
            session.commit()
        assert run_job(engine, claim_due_jobs(engine, "w")[0], "w") == "done"
        with Session(engine) as session:
            assert session.scalar(select(Touchpoint.name).where(Touchpoint.key == "held")) == "after"
    finally:
        engine.dispose()


def test_retry_later_and_give_up(engine, handlers):
    job_handler("test.later")(lambda s, p: (_ for _ in ()).throw(RetryLater("429", delay=120)))
    job_handler("test.never")(lambda s, p: (_ for _ in ()).throw(GiveUp("bad payload")))
    later, never = _add(engine, "test.later"), _add(engine, "test.never")
    for job in claim_due_jobs(engine, "w"):
        run_job(engine, job, "w")
    waited = _job(engine, later).run_at - utcnow()
    assert timedelta(seconds=110) < waited <= timedelta(seconds=120)
    assert _job(engine, never).status == "dead" and _job(engine, never).attempts == 1


def test_a_job_whose_worker_died_is_claimed_again_after_its_lease(engine, handlers):
    job_id = _add(engine, "test.any")
    claim_due_jobs(engine, "dead-worker")
    assert claim_due_jobs(engine, "w2") == []
    with Session(engine) as session:
        session.execute(update(Job).values(locked_at=utcnow() - timedelta(hours=1)))
        session.commit()
    assert [job.id for job in claim_due_jobs(engine, "w2")] == [job_id]


def test_backoff_grows():
    from voc.jobs.queue import backoff_seconds

    assert backoff_seconds(1) <= 2 < backoff_seconds(5) <= 32 and backoff_seconds(30) <= 3600


@pytest.mark.postgres
def test_several_worker_processes_never_run_the_same_job(postgres_url, tmp_path):
    from sqlalchemy import create_engine

    from voc.jobs.models import Job as JobModel

    engine = create_engine(postgres_url)
    database_url = postgres_url
    with Session(engine) as session:
        session.add_all(JobModel(kind="test.record", payload={"n": n}) for n in range(400))
        session.commit()
    script = tmp_path / "run_worker.py"
    script.write_text(
        "import sys, time\n"
        "from sqlalchemy import text\n"
        "from voc.jobs.queue import job_handler\n"
        "from voc.jobs.worker import Worker\n"
        "@job_handler('test.record')\n"
        "def record(session, payload):\n"
        "    session.execute(text('INSERT INTO job_run_log (n, worker) VALUES (:n, :w)'),"
        " {'n': payload['n'], 'w': sys.argv[1]})\n"
        "    time.sleep(0.002)\n"
        "w = Worker(batch=5)\n"
        "deadline = time.time() + 60\n"
        "while time.time() < deadline and (w.run_once() or time.time() < deadline - 55):\n"
        "    pass\n"
    )
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE job_run_log (n int, worker text)")
    env = {**os.environ, "VOC_DATABASE_URL": database_url}
    workers = [subprocess.Popen([sys.executable, str(script), f"w{i}"], env=env) for i in range(4)]
    for worker in workers:
        assert worker.wait(timeout=90) == 0
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT n, worker FROM job_run_log").all()
        connection.exec_driver_sql("DROP TABLE job_run_log")
        connection.commit()
    assert sorted(n for n, _ in rows) == list(range(400))
    assert len({worker for _, worker in rows}) > 1  # the work was really shared
