"""Jobs of a `together` kind (an answer's follow-up) claimed at once run in one transaction: one commit for
all of them, only those the worker still holds, and a failure in one rolls back the lot and runs each alone,
so it is recorded as its own and the others' work commits once."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, select, update
from sqlmodel import Session

from tests import factories as f
from voc.jobs.models import Job
from voc.jobs.queue import claim_due_jobs, enqueue, job_handler, run_together
from voc.jobs.worker import Worker
from voc.surveys.models import Response, Touchpoint
from voc.surveys.responses import submit_response

KIND = "test.together"


@pytest.fixture
def seen(handlers):
    log: list[tuple[int, object]] = []  # (n, the session it ran in: kept alive, so two are never taken for one)

    @job_handler(KIND, together=True)
    def step(session, payload):
        log.append((payload["n"], session))
        if payload["n"] == payload.get("fails"):
            raise ValueError(f"job {payload['n']} cannot run")
        session.add(Touchpoint(key=f"t{payload['n']}", name="x", stage="usage"))
        session.flush()

    return log


def _add(engine, count: int, **extra) -> list[int]:
    with Session(engine) as session:
        ids = [enqueue(session, KIND, {"n": n, **extra}) for n in range(count)]
        session.commit()
    return ids


def _state(engine):
    with Session(engine) as session:
        jobs = {job.id: job for job in session.scalars(select(Job))}
        return jobs, sorted(tp.key for tp in session.scalars(select(Touchpoint)))


def test_jobs_claimed_together_run_in_one_transaction_whatever_runs_between_them(engine, seen):
    others = []

    @job_handler("test.other")
    def other(session, payload):
        others.append(session)

    with Session(engine) as session:  # the answers' jobs come between others (their deliveries, say)
        ids = [enqueue(session, kind, {"n": n}) for n in range(5) for kind in (KIND, "test.other")]
        session.commit()
    assert Worker(engine, batch=10).run_until_idle() == 10
    jobs, written = _state(engine)
    assert [n for n, _ in seen] == [0, 1, 2, 3, 4] and all(session is seen[0][1] for _, session in seen)
    assert len(others) == 5 and not any(session is seen[0][1] for session in others)  # each in its own
    assert written == ["t0", "t1", "t2", "t3", "t4"]
    assert all(jobs[i].status == "done" and jobs[i].locked_by is None for i in ids)


def test_one_that_fails_is_retried_alone_and_the_others_commit_once(engine, seen):
    ids = _add(engine, 3, fails=1)
    Worker(engine, batch=10).run_until_idle()
    jobs, written = _state(engine)
    assert written == ["t0", "t2"]  # once each: the rolled-back try left nothing
    assert [n for n, _ in seen] == [0, 1, 0, 1, 2]  # together, then each alone
    assert jobs[ids[1]].status == "queued" and "cannot run" in jobs[ids[1]].last_error
    assert jobs[ids[0]].status == jobs[ids[2]].status == "done"


def test_only_the_jobs_the_worker_still_holds_run(engine, seen):
    ids = _add(engine, 3)
    claimed = claim_due_jobs(engine, "lapsed")
    with Session(engine) as other:  # its lease on the second ran out and another worker took it
        other.execute(update(Job).where(Job.id == ids[1]).values(locked_by="rescuer"))
        other.commit()
    assert run_together(engine, claimed, "lapsed") == ["done", "lost", "done"]
    jobs, written = _state(engine)
    assert written == ["t0", "t2"] and jobs[ids[1]].locked_by == "rescuer"


def test_a_preload_reads_for_the_whole_batch_once(engine, seen):
    loads = []

    @job_handler("test.preloaded", together=True, preload=lambda session, payloads: loads.append(payloads))
    def step(session, payload):
        seen.append((payload["n"], session))

    with Session(engine) as session:
        ids = [enqueue(session, "test.preloaded", {"n": n}) for n in range(3)]
        session.commit()
    claimed = claim_due_jobs(engine, "w")
    with Session(engine) as other:  # the second is no longer this worker's: its payload is not preloaded
        other.execute(update(Job).where(Job.id == ids[1]).values(locked_by="rescuer"))
        other.commit()
    assert run_together(engine, claimed, "w") == ["done", "lost", "done"]
    assert loads == [[{"n": 0}, {"n": 2}]] and [n for n, _ in seen] == [0, 2]


def test_a_batch_of_answers_jobs_reads_their_responses_and_version_in_one_statement_each(engine):
    with Session(engine) as session:
        f.touchpoint(session)
        f.survey(session, recontact_days=0)
        tokens = [f.token_of(f.event(session, f"e-{n}", contact=f"c-{n}").invitation.url) for n in range(4)]
        session.commit()
    Worker(engine).run_until_idle()  # the invitations' own jobs
    with Session(engine) as session:
        for token in tokens:
            submit_response(session, token, [("nps", 9), ("why", "Quick and friendly.")])
        session.commit()
    statements: list[str] = []

    def seen_statement(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", seen_statement)
    assert Worker(engine, batch=10).run_until_idle() == 4
    event.remove(engine, "before_cursor_execute", seen_statement)
    with Session(engine) as session:
        assert all(r.analysis for r in session.scalars(select(Response)))  # each was read, analysed, stored
    for table in ("response", "survey_version"):
        assert len([s for s in statements if re.match(rf"SELECT\b.*\bFROM {table}\b", s, re.S)]) == 1, table
