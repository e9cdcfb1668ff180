"""Enqueue, claim and settle jobs. Jobs carry ids, never ORM objects, and are written in the
same transaction as the change they follow (transactional outbox)."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Integer, and_, bindparam, delete, event, insert, or_, select, true, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from voc.config import get_settings
from voc.db import Batch, Prepared, Refused, Sized, reading, session_scope, shared_rows_at_commit, utcnow
from voc.jobs.models import ClaimedJob, Job, JobStatus

log = logging.getLogger(__name__)

Handler = Callable[[Session, dict[str, Any]], None]
HANDLERS: dict[str, Handler] = {}
# Kinds whose jobs wait mostly on the network (webhook deliveries): the worker runs them on a pool of
# threads, at most a few at once per lane (the lane function maps a payload to, say, its endpoint).
Lane = Callable[[dict[str, Any]], str]
LANES: dict[str, Lane] = {}
# Clean-up tasks the worker runs now and then: fn(session, now) -> rows deleted.
Housekeeper = Callable[[Session, datetime], int]
HOUSEKEEPERS: dict[str, Housekeeper] = {}
PRUNE_BATCH = 2000

# Set after a commit that enqueued jobs, so an in-process worker wakes at once instead of polling.
wakeup = threading.Event()


class RetryLater(Exception):  # noqa: N818 - a signal, not an error
    """Raised by a handler to be retried after `delay` seconds (e.g. a receiver's Retry-After)."""

    def __init__(self, message: str, delay: float) -> None:
        super().__init__(message)
        self.delay = delay


class GiveUp(Exception):  # noqa: N818
    """Raised by a handler whose job can never succeed: it is marked dead at once."""


DEFERRED = "deferred"  # run_job's answer for a job put back by Defer


class Defer(Exception):  # noqa: N818 - a signal, not an error
    """Raised by a handler whose job may not run yet (an earlier one must go first): it is due again
    after `delay` seconds, and this turn does not count as an attempt."""

    def __init__(self, message: str, delay: float) -> None:
        super().__init__(message)
        self.delay = delay


# Reads, in one statement, what each of a batch's handlers would read on its own (the rows it will load into
# the session): returns what must stay referenced meanwhile (the session holds its objects weakly).
Preload = Callable[[Session, list[dict[str, Any]]], Any]
# Kinds whose claimed jobs a worker runs several in one transaction (run_together), with their Preload, if any.
TOGETHER: dict[str, Preload | None] = {}


def job_handler(kind: str, *, lane: Lane | None = None, together: bool = False,
                preload: Preload | None = None) -> Callable[[Handler], Handler]:
    """Register `fn(session, payload)` as the handler for jobs of `kind`; with `lane`, the worker runs
    them concurrently, a few at a time per lane (see voc.jobs.worker.Lanes); with `together`, the jobs
    of this kind it claimed at once run one after the other in one transaction (run_together), so the
    handler may run again after a rollback (it acts only on the database). `preload` (with `together`) reads
    the batch's rows first, in one statement."""

    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        if lane is not None:
            LANES[kind] = lane
        if together:
            TOGETHER[kind] = preload
        return fn

    return register


@dataclass(frozen=True)
class Stages:
    """A lane job (a webhook delivery) in three stages, so that a worker does the database work of many such
    jobs at once and its lanes only wait on the network: `load` reads what each job of a claimed batch needs
    in one read transaction (its state; a Defer to put it back for a moment; None when there is nothing to
    do); `act` runs on the job's lane with no transaction open (the request) and returns its result; `write`
    records the result in the transaction that ends the job, which the worker commits together with other
    jobs' (finish_staged). `write` may run more than once (its transaction rolled back in between), so
    everything outside the database belongs in `act`."""

    load: Callable[[Session, list[dict[str, Any]]], list[Any]]
    act: Callable[[Any], Any]
    write: Callable[[Session, Any, Any], None]


STAGES: dict[str, Stages] = {}


def staged_handler(kind: str, *, lane: Lane, load: Callable[[Session, list[dict[str, Any]]], list[Any]],
                   act: Callable[[Any], Any], write: Callable[[Session, Any, Any], None]) -> Stages:
    """Register a lane job kind run in stages (see Stages). run_job runs such a job alone, stage after stage."""
    stages = STAGES[kind] = Stages(load, act, write)
    HANDLERS[kind] = partial(_run_stages, stages)
    LANES[kind] = lane
    return stages


def _run_stages(stages: Stages, session: Session, payload: dict[str, Any]) -> None:
    # Read in a session of its own (on SQLite the job's would hold the write lock through the request).
    with session_scope(reading(session.get_bind())) as read:
        [state] = stages.load(read, [payload])
    if isinstance(state, Defer):
        raise state
    if state is not None:
        stages.write(session, state, stages.act(state))


FAILED = object()  # load_stages' state for a job whose load failed (the job is already marked failed)


def load_stages(engine: Engine, worker_id: str, jobs: list[ClaimedJob]) -> dict[int, Any]:
    """The state of each claimed job of a staged kind (Stages.load), read in one transaction per kind. If a
    batch's read fails, each job is read alone, and a job whose own read fails is failed as run_job would."""
    by_kind: dict[str, list[ClaimedJob]] = {}
    for job in jobs:
        if job.kind in STAGES:
            by_kind.setdefault(job.kind, []).append(job)
    states: dict[int, Any] = {}
    for kind, group in by_kind.items():
        load = STAGES[kind].load
        try:
            with session_scope(reading(engine)) as session:
                states.update(zip((job.id for job in group), load(session, [dict(job.payload) for job in group]),
                                  strict=True))
            continue
        except Exception:
            if len(group) > 1:
                log.warning("loading %d %s jobs together failed; loading each alone", len(group), kind, exc_info=True)
        for job in group:
            try:
                with session_scope(reading(engine)) as session:
                    [states[job.id]] = load(session, [dict(job.payload)])
            except Exception as exc:
                log.exception("job %s (%s) failed on attempt %s", job.id, job.kind, job.attempts)
                _fail(engine, job, worker_id, f"{type(exc).__name__}: {exc}")
                states[job.id] = FAILED
    return states


_FINISH_JOBS = Sized(lambda n: update(Job.__table__).where(
    Job.__table__.c.id.in_([bindparam(f"j{i}", type_=Integer) for i in range(n)]),
    Job.__table__.c.locked_by == bindparam("worker"), Job.__table__.c.status == JobStatus.running.value)
    .values(status=JobStatus.done.value, finished_at=bindparam("now"), last_error=None, locked_at=None,
            locked_by=None)
    .returning(Job.__table__.c.id))


def _finish_held(session: Session, worker_id: str, ids: list[int]) -> set[int]:
    """Mark done those of the jobs `ids` this worker still holds (in the caller's transaction); returns them."""
    params = {"worker": worker_id, "now": utcnow(), **{f"j{i}": job_id for i, job_id in enumerate(ids)}}
    return {row[0] for row in _FINISH_JOBS(len(ids)).all(session.connection(), params)}


def run_together(engine: Engine, jobs: list[ClaimedJob], worker_id: str) -> list[str]:
    """Run claimed jobs of one `together` kind in one transaction: one commit (and one BEGIN, one statement
    marking them done) for all of them, and the rollups' shared rows written once, merged, at the end
    (voc.db.shared_rows_at_commit). Only the jobs this worker still holds run. Should any of them fail (or
    put itself back, or ask for a retry), the transaction is rolled back and each runs alone (run_job), so
    a failure is recorded as its own and the others commit. Returns each job's status."""
    if len(jobs) == 1:
        return [run_job(engine, jobs[0], worker_id)]
    handler, preload = HANDLERS[jobs[0].kind], TOGETHER.get(jobs[0].kind)
    try:
        with session_scope(engine) as session:
            shared_rows_at_commit(session)
            held = _finish_held(session, worker_id, [job.id for job in jobs])
            payloads = [dict(job.payload) for job in jobs if job.id in held]
            loaded = preload(session, payloads) if preload is not None and payloads else None
            for payload in payloads:
                handler(session, payload)
            del loaded  # (kept until every handler has run)
    except Exception:
        log.info("%d %s jobs run together failed; running each alone", len(jobs), jobs[0].kind, exc_info=True)
        return [run_job(engine, job, worker_id) for job in jobs]
    for job in jobs:
        if job.id not in held:
            log.warning("job %s (%s): lease lost before it ran; the worker that took it over runs it",
                        job.id, job.kind)
    return [JobStatus.done if job.id in held else "lost" for job in jobs]


def _finish_staged(session: Session, items: list[tuple[str, ClaimedJob, Stages, Any, Any]]) -> list[Any]:
    """End staged jobs whose `act` has run, many in one transaction: each job's end is marked only while its
    worker still holds it, and its `write` runs only then (a lost lease leaves nothing of that job's: it
    is refused, and the worker that took the job over runs it). Items: (worker id, job, stages, state, result)."""
    held: set[int] = set()
    by_worker: dict[str, list[int]] = {}
    for worker_id, job, *_ in items:
        by_worker.setdefault(worker_id, []).append(job.id)
    for worker_id, ids in by_worker.items():
        held |= _finish_held(session, worker_id, ids)
    outcomes: list[Any] = []
    for worker_id, job, stages, state, result in items:
        if job.id not in held:
            outcomes.append(Refused(LostLease(f"job {job.id} is no longer held by {worker_id}")))
            continue
        if state is not None:
            stages.write(session, state, result)
        outcomes.append(JobStatus.done)
    return outcomes


# Give it to a GroupWriter (voc.db.writers): the staged jobs waiting for it end in one transaction.
finish_staged = Batch(_finish_staged)


def staged_failed(engine: Engine, job: ClaimedJob, worker_id: str, error: BaseException) -> str:
    """What finish_staged's failure means for the job: a lost lease is only logged; anything else fails the
    job as run_job would (retried after a backoff, its request sent again). Returns the job's status."""
    if isinstance(error, LostLease):
        log.warning("job %s (%s): lease lost before it finished; its effects were rolled back", job.id, job.kind)
        return "lost"
    log.error("job %s (%s) failed on attempt %s", job.id, job.kind, job.attempts, exc_info=error)
    return _fail(engine, job, worker_id, f"{type(error).__name__}: {error}")


# Compiled once and run on the driver (voc.db.Prepared): enqueue runs inside every answer's transaction.
_INSERT_JOB = Prepared(insert(Job.__table__).returning(Job.__table__.c.id))


def _job_row(kind: str, payload: dict[str, Any], now: datetime, *, run_at: datetime | None = None,
             max_attempts: int | None = None, lane: str | None = None) -> dict[str, Any]:
    return {"kind": kind, "payload": payload, "lane": lane, "status": JobStatus.queued.value, "attempts": 0,
            "max_attempts": max_attempts or get_settings().job_max_attempts, "run_at": run_at or now,
            "created_at": now}


def enqueue(session: Session, kind: str, payload: dict[str, Any], *, run_at: datetime | None = None,
            max_attempts: int | None = None, lane: str | None = None) -> int:
    """Add a job to the caller's transaction (it runs only if that commits); returns its id. A job on a
    `lane` (one webhook endpoint) is claimed only by a worker with room on that lane."""
    row = _job_row(kind, payload, utcnow(), run_at=run_at, max_attempts=max_attempts, lane=lane)
    job_id = _INSERT_JOB.first(session.connection(), row)[0]
    enqueued(session)
    return job_id


_INSERT_JOBS = Prepared(insert(Job.__table__))


def enqueue_many(session: Session, kind: str, payloads: list[dict[str, Any]]) -> None:
    """enqueue for several payloads at once, due now (one statement for a batch of answers)."""
    now = utcnow()
    _INSERT_JOBS.run(session.connection(), [_job_row(kind, payload, now) for payload in payloads])
    enqueued(session)


def enqueued(session: Session) -> None:
    """Wake this process's worker once the session commits: it has queued jobs (by enqueue, or in SQL)."""
    session.info["voc_jobs_enqueued"] = True


# A job's columns but its payload, with their PostgreSQL types: for a statement that queues jobs itself.
JOB_COLUMNS = (("kind", "text"), ("lane", "text"), ("status", "text"), ("attempts", "int"),
               ("max_attempts", "int"), ("run_at", "timestamptz"), ("created_at", "timestamptz"))


def job_columns(kind: str, now: datetime) -> list[Any]:
    """The values of JOB_COLUMNS for a job of `kind` due `now`, as enqueue would store them."""
    row = _job_row(kind, {}, now)
    return [row[column] for column, _ in JOB_COLUMNS]


def housekeeper(name: str) -> Callable[[Housekeeper], Housekeeper]:
    """Register `fn(session, now)` to be run by workers every VOC_HOUSEKEEPING_INTERVAL_SECONDS."""

    def register(fn: Housekeeper) -> Housekeeper:
        HOUSEKEEPERS[name] = fn
        return fn

    return register


# Tasks that queue work falling due by the clock rather than after a change (the weekly digest): fn(session,
# now) -> jobs queued. Workers run them with the housekeeping, each in a transaction of its own; several
# workers run them, so each must queue a piece of work once however often it runs (a unique key decides).
Planner = Callable[[Session, datetime], int]
PLANNERS: dict[str, Planner] = {}


def planner(name: str) -> Callable[[Planner], Planner]:
    """Register `fn(session, now)` to be run by workers every VOC_HOUSEKEEPING_INTERVAL_SECONDS (and at start)."""

    def register(fn: Planner) -> Planner:
        PLANNERS[name] = fn
        return fn

    return register


def run_planners(engine: Engine, now: datetime | None = None) -> dict[str, int]:
    """Run every planner once; returns the jobs each queued."""
    now = now or utcnow()
    queued: dict[str, int] = {}
    for name, fn in PLANNERS.items():
        with session_scope(engine) as session:
            queued[name] = fn(session, now)
    return queued


def prune(session: Session, table: Any, condition: Any) -> int:
    """Delete the rows matching `condition` in batches, so no transaction holds a lock for long."""
    ids = session.scalars(select(table.c.id).where(condition).limit(PRUNE_BATCH)).all()
    if ids:
        session.execute(delete(table).where(table.c.id.in_(ids)))
    return len(ids)


@housekeeper("jobs")
def prune_finished_jobs(session: Session, now: datetime) -> int:
    """Finished jobs older than VOC_JOB_RETENTION_DAYS; dead jobs are kept with their error."""
    before = now - timedelta(days=get_settings().job_retention_days)
    jobs = Job.__table__
    return prune(session, jobs, (jobs.c.status == JobStatus.done) & (jobs.c.finished_at < before))


def run_housekeeping(engine: Engine, now: datetime | None = None) -> dict[str, int]:
    """Run every housekeeper until it has nothing left to delete; returns rows deleted per task."""
    now = now or utcnow()
    deleted: dict[str, int] = {}
    for name, fn in HOUSEKEEPERS.items():
        deleted[name] = 0
        while True:
            with session_scope(engine) as session:
                count = fn(session, now)
            deleted[name] += count
            if count < PRUNE_BATCH:
                break
    return deleted


@event.listens_for(OrmSession, "after_commit")
def _wake_worker(session: OrmSession) -> None:
    if session.info.pop("voc_jobs_enqueued", False):
        wakeup.set()


def claim_due_jobs(engine: Engine, worker_id: str, limit: int = 10, *,
                   full_lanes: Collection[str] = ()) -> list[ClaimedJob]:
    """Atomically take up to `limit` due jobs for this worker (SKIP LOCKED on PostgreSQL), none on
    `full_lanes` (those wait in the queue, not in the worker: the jobs behind them go first).

    A running worker renews its lease (renew_leases, every third of VOC_JOB_LEASE_SECONDS); a job whose
    worker died mid-run is due again once its lease has expired, and runs again (at least once)."""
    now = utcnow()
    stale = now - timedelta(seconds=get_settings().job_lease_seconds)
    lanes = sorted(full_lanes)
    params = {"now": now, "stale": stale, "worker": worker_id, "limit": limit,
              **{f"lane{n}": lane for n, lane in enumerate(lanes)}}
    with session_scope(engine) as session:
        rows = _claim_statement(len(lanes)).all(session.connection(), params)
    jobs = [ClaimedJob(*row) for row in rows]
    return sorted(jobs, key=lambda job: (job.run_at, job.id))


_claims: dict[int, Prepared] = {}


def _claim_statement(full_lanes: int) -> Prepared:
    """The claim, leaving out `full_lanes` lanes (parameters lane0, lane1 …): built once for each count, as
    every claim runs it (a worker with deliveries in flight claims each time one of them ends)."""
    claim = _claims.get(full_lanes)
    if claim is None:
        jobs = Job.__table__
        due = (
            select(jobs.c.id)
            .where(or_(
                (jobs.c.status == JobStatus.queued.value) & (jobs.c.run_at <= bindparam("now")),
                (jobs.c.status == JobStatus.running.value) & (jobs.c.locked_at < bindparam("stale")),
            ))
            .where(or_(jobs.c.lane.is_(None), and_(*(
                jobs.c.lane != bindparam(f"lane{n}") for n in range(full_lanes)))) if full_lanes else true())
            .order_by(jobs.c.run_at, jobs.c.id)
            .limit(bindparam("limit", type_=Integer))
            .with_for_update(skip_locked=True)
        )
        claim = _claims[full_lanes] = Prepared(
            update(jobs).where(jobs.c.id.in_(due.scalar_subquery()))
            .values(status=JobStatus.running.value, locked_at=bindparam("now"), locked_by=bindparam("worker"),
                    attempts=jobs.c.attempts + 1)
            .returning(*jobs.c))
    return claim


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with full jitter: about 2, 4, 8 … seconds, capped at an hour."""
    ceiling = min(3600.0, 2.0 ** attempts)
    return ceiling / 2 + random.uniform(0, ceiling / 2)


class LostLease(Exception):  # noqa: N818 - a signal, not an error
    """The job is no longer this worker's (its lease ran out and another worker took it)."""


def renew_leases(engine: Engine, worker_id: str) -> int:
    """Extend the lease of every job this worker holds (its heartbeat); returns how many."""
    with session_scope(engine) as session:
        return session.connection().execute(_RENEW, {"worker": worker_id, "now": utcnow()}).rowcount


def release_jobs(engine: Engine, worker_id: str, job_ids: list[int], delay: float = 0.0) -> int:
    """Give back claimed jobs this worker will not run (stopping, a failure before they ran, their lane
    full): due again after `delay` seconds, and the claim does not count as an attempt."""
    if not job_ids:
        return 0
    values: dict[str, Any] = {"status": JobStatus.queued, "locked_at": None, "locked_by": None,
                              "attempts": Job.attempts - 1}
    if delay:
        values["run_at"] = utcnow() + timedelta(seconds=delay)
    with session_scope(engine) as session:
        return session.execute(
            update(Job).where(Job.id.in_(job_ids), Job.locked_by == worker_id, Job.status == JobStatus.running)
            .values(**values).execution_options(synchronize_session=False)).rowcount


def run_job(engine: Engine, job: ClaimedJob, worker_id: str) -> str:
    """Run one claimed job; its effects and its `done` mark commit together, and only while this worker
    still holds the job: when the lease was lost, everything the job wrote is rolled back (the worker
    that took it over runs it). Returns the new status ("lost" for a lost lease)."""
    handler = HANDLERS.get(job.kind)
    try:
        if handler is None:
            raise GiveUp(f"no handler for job kind {job.kind!r}")
        with session_scope(engine) as session:
            handler(session, dict(job.payload))
            finished = _FINISH_JOB.run(session.connection(), {"job": job.id, "worker": worker_id,
                                                              "now": utcnow()})
            if finished != 1:
                raise LostLease(f"job {job.id} is no longer held by {worker_id}")
        return JobStatus.done
    except LostLease:
        log.warning("job %s (%s): lease lost before it finished; its effects were rolled back", job.id, job.kind)
        return "lost"
    except Defer as exc:
        release_jobs(engine, worker_id, [job.id], delay=exc.delay)
        return DEFERRED
    except RetryLater as exc:
        return _fail(engine, job, worker_id, str(exc), delay=exc.delay)
    except GiveUp as exc:
        return _fail(engine, job, worker_id, str(exc), dead=True)
    except Exception as exc:
        log.exception("job %s (%s) failed on attempt %s", job.id, job.kind, job.attempts)
        return _fail(engine, job, worker_id, f"{type(exc).__name__}: {exc}")


_jobs = Job.__table__
# Compiled once and run on the driver (voc.db.Prepared): every job ends with it.
_FINISH_JOB = Prepared(
    update(_jobs).where(_jobs.c.id == bindparam("job"), _jobs.c.locked_by == bindparam("worker"),
                        _jobs.c.status == JobStatus.running.value)
    .values(status=JobStatus.done.value, finished_at=bindparam("now"), last_error=None, locked_at=None,
            locked_by=None))
_RENEW = (update(_jobs).where(_jobs.c.locked_by == bindparam("worker"), _jobs.c.status == JobStatus.running.value)
          .values(locked_at=bindparam("now")))


def _settle(session: Session, job: ClaimedJob, worker_id: str, **values: Any) -> None:
    session.execute(
        update(Job).where(Job.id == job.id, Job.locked_by == worker_id, Job.status == JobStatus.running)
        .values(locked_at=None, locked_by=None, **values)
        .execution_options(synchronize_session=False)
    )


def _fail(engine: Engine, job: ClaimedJob, worker_id: str, error: str, *, delay: float | None = None,
          dead: bool = False) -> str:
    dead = dead or job.attempts >= job.max_attempts
    status = JobStatus.dead if dead else JobStatus.queued
    values: dict[str, Any] = {"status": status, "last_error": error[:4000]}
    if dead:
        values["finished_at"] = utcnow()
    else:
        values["run_at"] = utcnow() + timedelta(seconds=delay if delay is not None else backoff_seconds(job.attempts))
    with session_scope(engine) as session:
        _settle(session, job, worker_id, **values)
    return status
