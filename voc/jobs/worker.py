"""The worker loop: claim due jobs, run them, sleep until woken or the next poll."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Protocol

from sqlalchemy.engine import Engine

from voc.config import get_settings
from voc.db import GroupWriter, get_engine, job_writer, utcnow
from voc.jobs.models import ClaimedJob
from voc.jobs.queue import (
    DEFERRED,
    FAILED,
    LANES,
    STAGES,
    TOGETHER,
    Defer,
    Stages,
    claim_due_jobs,
    finish_staged,
    load_stages,
    release_jobs,
    renew_leases,
    run_housekeeping,
    run_job,
    run_planners,
    run_together,
    staged_failed,
    wakeup,
)
from voc.limits.memory import TokenBuckets

log = logging.getLogger(__name__)


def load_handlers() -> None:
    """Import every module that registers job handlers."""
    import voc.contacts.tasks  # noqa: F401
    import voc.digest.tasks  # noqa: F401
    import voc.email.tasks  # noqa: F401
    import voc.limits.tasks  # noqa: F401
    import voc.sentiment.tasks  # noqa: F401
    import voc.surveys.tasks  # noqa: F401
    import voc.webhooks.tasks  # noqa: F401


class Busy(Protocol):
    def wait_quiet(self, timeout: float) -> None: ...


# A worker sharing its process with the web server takes at least this share of the time while
# requests keep coming, and all of it when they stop: customers' pages come first, and the queue
# (durable) absorbs a burst instead of every answer waiting on the analysis of the one before.
SHARE_UNDER_LOAD = 0.1
# ... but a job that fell due less than this long ago waits for a quiet moment first (at most until it is
# this old): a burst shorter than that is answered at full speed and its jobs run right after it, while a
# longer one still gives the worker its share (a job waiting for a quiet moment never waits longer).
QUIET_MOMENT_WAIT = 1.0
# run_until_idle waits at most this long for jobs it put back for a moment (an earlier message first).
ORDER_DEFER_BOUND = 2.0


class Heartbeat:
    """While a worker holds claimed jobs (inline or on its lanes), renew their lease every third of
    VOC_JOB_LEASE_SECONDS, so only a worker that died (or hangs for a whole lease) loses them. One thread,
    started when the first job is held and ending once none has been held for a beat."""

    def __init__(self, engine: Engine, worker_id: str) -> None:
        self.engine, self.worker_id = engine, worker_id
        self.interval = get_settings().job_lease_seconds / 3
        self._held = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, count: int = 1) -> None:
        with self._lock:
            self._held += count
            if self._thread is None:
                self._thread = threading.Thread(target=self._beat, name="voc-job-heartbeat", daemon=True)
                self._thread.start()

    def release(self, count: int = 1) -> None:
        with self._lock:
            self._held -= count

    def _beat(self) -> None:
        while True:
            time.sleep(self.interval)
            with self._lock:
                if self._held <= 0:
                    self._thread = None
                    return
            try:
                renew_leases(self.engine, self.worker_id)
            except Exception:  # a missed beat is retried; the lease covers two more
                log.exception("worker %s: could not renew its job leases", self.worker_id)

    def __enter__(self) -> Heartbeat:
        self.hold()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


class Lanes:
    """Jobs that wait on the network (LANES: webhook deliveries) run on a pool of threads beside the
    worker's loop, `size` at once in all and `per_lane` at once per lane (one webhook endpoint), and
    each lane at most `per_second` jobs a second when that is set: a CRM that takes 300 ms a call, or
    times out, holds up its own lane, not the other endpoints nor the worker's other jobs. Claimed jobs
    whose lane is busy wait here, in claim order, and start as soon as their lane has room; while a lane
    has jobs waiting, the worker claims no more of its jobs (`backlogged`), so the jobs queued behind a
    slow lane's are claimed and run meanwhile, and no claimed job is handed back for want of room."""

    def __init__(self, size: int, per_lane: int, per_second: float = 0.0) -> None:
        self.size, self.per_lane = max(1, size), max(1, per_lane)
        self._rate = TokenBuckets(per_second * 60, burst=max(1.0, per_second)) if per_second > 0 else None
        self._pool: ThreadPoolExecutor | None = None
        self._running: dict[str, int] = {}
        self._waiting: dict[str, deque[tuple[ClaimedJob, Callable[[], None]]]] = {}
        self._in_flight = self._queued = 0
        self._settling = 0  # staged jobs done on their lane, their results not yet committed
        self._changed = threading.Condition()
        # The worker's last claim took all it asked for (more may be due). If not, a job ending on a lane
        # that still has jobs waiting changes nothing a claim could find: no claim until one would.
        self.more_due = True

    def room(self) -> int:
        """How many more jobs the worker may hold for its lanes (running or waiting for their lane)."""
        with self._changed:
            return 2 * self.size - self._in_flight - self._queued - self._settling

    def backlogged(self) -> list[str]:
        """The lanes with jobs waiting: claim none of theirs until those have started."""
        with self._changed:
            return list(self._waiting)

    def wait(self, seconds: float) -> None:
        """Until a lane job ends or a result is committed (or `seconds` pass)."""
        with self._changed:
            if self._in_flight or self._settling:
                self._changed.wait(seconds)

    def busy(self) -> bool:
        with self._changed:
            return self._in_flight > 0 or self._queued > 0 or self._settling > 0

    def settling(self) -> None:
        """A staged job's lane work is done and its result is queued to be committed: it still takes room."""
        with self._changed:
            self._settling += 1

    def settled(self) -> None:
        with self._changed:
            self._settling -= 1
            self._changed.notify_all()
            # Room for one more, and more may be due (a lane with jobs waiting wakes the worker as they end).
            claimable = self.more_due and not self._waiting
        if claimable:
            wakeup.set()

    def wait_settled(self, seconds: float) -> None:
        """Until every result queued to be committed is (a stopping worker), or `seconds` pass."""
        deadline = time.monotonic() + seconds
        with self._changed:
            while self._settling and (left := deadline - time.monotonic()) > 0:
                self._changed.wait(left)

    def start(self, lane: str, job: ClaimedJob, work: Callable[[], None]) -> float:
        """Run `work` on the lane now, or keep it until the lane has room; returns 0, or the seconds to
        wait when the lane is over its rate (then nothing is kept)."""
        with self._changed:
            if self._rate and (wait := self._rate.take(lane)):
                return wait
            if self._running.get(lane, 0) < self.per_lane and self._in_flight < self.size:
                self._submit(lane, work)
            else:
                self._waiting.setdefault(lane, deque()).append((job, work))
                self._queued += 1
        return 0.0

    def _submit(self, lane: str, work: Callable[[], None]) -> None:  # (holding _changed)
        self._running[lane] = self._running.get(lane, 0) + 1
        self._in_flight += 1
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="voc-lane")
        self._pool.submit(self._run, lane, work)

    def _run(self, lane: str, work: Callable[[], None]) -> None:
        try:
            work()
        except Exception:  # run_job records failures itself; this is a bug in the runner
            log.exception("a job on lane %s failed outside its handler", lane)
        finally:
            with self._changed:
                self._running[lane] -= 1
                self._in_flight -= 1
                if not self._running[lane]:
                    del self._running[lane]
                self._start_waiting(first=lane)
                self._changed.notify_all()
                claimable = lane not in self._waiting or self.more_due
            if claimable:  # its lane takes new jobs again, or there may be more due elsewhere: claim
                wakeup.set()

    def _start_waiting(self, first: str) -> None:  # (holding _changed)
        """Start waiting jobs wherever there is room: this lane's first, then any other's (one that
        waited only because all `size` threads were busy has none of its own running to start it)."""
        for lane in sorted(self._waiting, key=lambda name: name != first):
            waiting = self._waiting[lane]
            while waiting and self._running.get(lane, 0) < self.per_lane and self._in_flight < self.size:
                self._queued -= 1
                self._submit(lane, waiting.popleft()[1])
            if not waiting:
                del self._waiting[lane]
            if self._in_flight >= self.size:
                return

    def take_waiting(self) -> list[ClaimedJob]:
        """The claimed jobs still waiting for their lane (a stopping worker gives them back)."""
        with self._changed:
            jobs = [job for waiting in self._waiting.values() for job, _ in waiting]
            self._waiting.clear()
            self._queued = 0
            return jobs

    def close(self) -> None:
        """Let the jobs in flight finish."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


class Worker:
    """Runs jobs until stopped; any number may run at once against one database.

    With `give_way_to` (the web server's Activity, for the worker inside `voc serve`), it waits
    between jobs while requests are being served, up to nine times as long as its last job took, and
    a job that fell due under QUIET_MOMENT_WAIT ago waits for a quiet moment until it is that old."""

    def __init__(self, engine: Engine | None = None, *, batch: int = 10, give_way_to: Busy | None = None) -> None:
        self.engine = engine or get_engine()
        self.batch = batch
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stopping = threading.Event()
        self.give_way_to = give_way_to
        self._owed = 0.0  # seconds to give way before the next job
        self.heartbeat = Heartbeat(self.engine, self.id)
        self._deferred_until = 0.0  # when the jobs this worker put back for a moment are due again
        self._passed_over = False  # the last claim left out backlogged lanes' jobs
        settings = get_settings()
        self.lanes = Lanes(settings.webhook_concurrency, settings.webhook_endpoint_concurrency,
                           settings.webhook_endpoint_rate)
        load_handlers()

    def settler(self) -> GroupWriter:
        """Where staged jobs' results are committed, those that arrive together in one transaction."""
        return job_writer(self.engine)

    def _give_way(self, job: ClaimedJob) -> None:
        if self.give_way_to is None:
            return
        due_for = (utcnow() - job.run_at).total_seconds()
        wait = max(self._owed, min(QUIET_MOMENT_WAIT, QUIET_MOMENT_WAIT - due_for))
        self._owed = 0.0
        if wait > 0:
            self.give_way_to.wait_quiet(wait)

    def _run(self, jobs: list[ClaimedJob]) -> None:
        started = time.monotonic()
        run_together(self.engine, jobs, self.id)
        if self.give_way_to is not None:
            self._owed = (time.monotonic() - started) * (1 - SHARE_UNDER_LOAD) / SHARE_UNDER_LOAD

    def run_once(self) -> int:
        """Claim a batch of due jobs and run them (or start them on their lanes); returns how many.

        A heartbeat renews the leases of every job the worker holds. Jobs it will not run now (the
        worker is stopping, something failed between claiming and running them, their lane is full) are
        given back at once, not left waiting for their lease to run out, and that claim is not an attempt."""
        room = self.lanes.room()
        if room <= 0:  # the lanes hold all they may: wait for one of their jobs to end
            self.lanes.wait(get_settings().job_poll_seconds)
            return 0
        full = self.lanes.backlogged()
        jobs = claim_due_jobs(self.engine, self.id, min(self.batch, room), full_lanes=full)
        self._passed_over = bool(full)  # none claimed may still mean jobs are due, on those lanes
        self.lanes.more_due = len(jobs) == min(self.batch, room)
        if not jobs:
            return 0
        handled: set[int] = set()  # jobs started, run, or given back: the rest are released at the end
        ran = 0
        self.heartbeat.hold(len(jobs))
        try:
            states = load_stages(self.engine, self.id, jobs)
            for job in jobs:
                if self.stopping.is_set():
                    break
                if job.id in handled:  # ran with an earlier job of its kind (run_together)
                    continue
                lane = LANES.get(job.kind)
                if job.id in states:
                    handled.add(job.id)
                    ran += self._start_staged(job, lane, states[job.id])
                    continue
                if lane is not None:
                    wait = self.lanes.start(lane(job.payload), job, partial(self._run_on_lane, job))
                    handled.add(job.id)
                    if wait:  # its lane is over its rate: back in the queue for a moment
                        release_jobs(self.engine, self.id, [job.id], delay=wait)
                        self._deferred(wait)
                        self.heartbeat.release()
                    else:
                        ran += 1
                    continue
                together = [job]
                if job.kind in TOGETHER:  # the jobs of its kind in this claim run in one transaction with it
                    together = [other for other in jobs if other.kind == job.kind and other.id not in handled]
                self._give_way(job)
                handled.update(other.id for other in together)
                try:
                    self._run(together)
                    ran += len(together)
                finally:
                    self.heartbeat.release(len(together))
        finally:
            rest = [job.id for job in jobs if job.id not in handled]
            if rest:
                release_jobs(self.engine, self.id, rest)
                self.heartbeat.release(len(rest))
        return ran

    def _start_staged(self, job: ClaimedJob, lane: Callable[[dict], str], state: object) -> int:
        """Start a staged job whose state was read with its batch: on its lane, or straight to the commit
        when there is nothing to send; returns 1 if it started."""
        if state is FAILED:  # its read failed: marked failed already
            self.heartbeat.release()
            return 1
        if isinstance(state, Defer):
            release_jobs(self.engine, self.id, [job.id], delay=state.delay)
            self._deferred(state.delay)
            self.heartbeat.release()
            return 0
        stages = STAGES[job.kind]
        if state is None:  # stale (delivered, replayed, deleted): only the job's end to commit
            self._hand_over(job, stages, None, None)
            return 1
        wait = self.lanes.start(lane(job.payload), job, partial(self._act_on_lane, job, stages, state))
        if wait:  # its lane is over its rate: back in the queue for a moment
            release_jobs(self.engine, self.id, [job.id], delay=wait)
            self._deferred(wait)
            self.heartbeat.release()
            return 0
        return 1

    def _act_on_lane(self, job: ClaimedJob, stages: Stages, state: object) -> None:
        try:
            result = stages.act(state)
        except Exception as exc:
            staged_failed(self.engine, job, self.id, exc)
            self.heartbeat.release()
            return
        self._hand_over(job, stages, state, result)

    def _hand_over(self, job: ClaimedJob, stages: Stages, state: object, result: object) -> None:
        """Queue the job's result to be committed with the others that arrive meanwhile; the lane is free at
        once (its next request need not wait for this commit), and the job is held until it is committed."""
        self.lanes.settling()
        future = self.settler().submit(finish_staged, (self.id, job, stages, state, result))
        future.add_done_callback(partial(self._settled, job))

    def _settled(self, job: ClaimedJob, future: Future) -> None:
        try:
            error = future.exception()
            if error is not None:
                staged_failed(self.engine, job, self.id, error)
        except Exception:  # the job stays claimed; its lease runs out and it runs again
            log.exception("job %s (%s): its result could not be recorded", job.id, job.kind)
        finally:
            self.heartbeat.release()
            self.lanes.settled()

    def _run_on_lane(self, job: ClaimedJob) -> None:
        try:
            if run_job(self.engine, job, self.id) == DEFERRED:
                self._deferred(ORDER_DEFER_BOUND)
        finally:
            self.heartbeat.release()

    def _deferred(self, seconds: float) -> None:
        self._deferred_until = max(self._deferred_until, time.monotonic() + min(seconds, ORDER_DEFER_BOUND))

    def run_until_idle(self, max_rounds: int = 100_000) -> int:
        """Run due jobs until none is left (demo loading and tests); returns how many ran."""
        total = 0
        for _ in range(max_rounds):
            # The claim asks for what is due as of a moment after this: a job put back for a moment is due by
            # _deferred_until, so a claim that started later has seen it (one that started before may not have,
            # though the deadline has passed by the time it returns).
            claimed_at = time.monotonic()
            ran = self.run_once()
            total += ran
            if ran:
                continue
            if self.lanes.busy():
                self.lanes.wait(1.0)  # jobs on lanes may queue more (a retry, the next message)
            elif self._passed_over:
                continue  # a lane's jobs were left in the queue while it was backlogged; it is free now
            elif claimed_at < self._deferred_until:
                # Jobs put back for a moment (their turn had not come) are due soon: claim again when they are.
                time.sleep(min(0.02, max(0.0, self._deferred_until - time.monotonic())))
            else:
                break
        return total

    def housekeep(self) -> None:
        """Delete what has outlived its retention (old finished jobs, delivered webhook messages), then queue
        the work that has fallen due by the clock (plan)."""
        try:
            deleted = run_housekeeping(self.engine)
        except Exception:
            log.exception("worker %s: housekeeping failed; it runs again next interval", self.id)
        else:
            if any(deleted.values()):
                log.info("worker %s: housekeeping deleted %s", self.id, deleted)
        self.plan()

    def plan(self) -> None:
        """Queue the work that has fallen due by the clock (the weekly digest: voc.jobs.queue.PLANNERS)."""
        try:
            queued = run_planners(self.engine)
        except Exception:
            log.exception("worker %s: planning failed; it runs again next interval", self.id)
            return
        if any(queued.values()):
            log.info("worker %s: queued %s", self.id, queued)

    def run_forever(self) -> None:
        """Poll for jobs until `stop()`; an enqueue in this process wakes it at once."""
        settings = get_settings()
        poll = settings.job_poll_seconds
        next_housekeeping = time.monotonic()
        log.info("worker %s started", self.id)
        while not self.stopping.is_set():
            if time.monotonic() >= next_housekeeping:
                self.housekeep()
                next_housekeeping = time.monotonic() + settings.housekeeping_interval_seconds
            try:
                ran = self.run_once()
            except Exception:
                log.exception("worker %s could not claim jobs; retrying", self.id)
                ran = 0
            # Claim again at once only when the last claim took all it asked for and no lane has jobs waiting:
            # while one has, each of its jobs that ends (or a result committed) wakes the loop to claim the
            # other lanes' jobs; a claim now could find no others.
            if not ran or not self.lanes.more_due or self.lanes.backlogged():
                wakeup.wait(poll)
                wakeup.clear()
        waiting = self.lanes.take_waiting()
        if waiting:
            release_jobs(self.engine, self.id, [job.id for job in waiting])
            self.heartbeat.release(len(waiting))
        self.lanes.close()
        self.lanes.wait_settled(get_settings().db_lock_timeout_seconds + 5)
        log.info("worker %s stopped", self.id)

    def start_thread(self) -> threading.Thread:
        """Run the loop in a daemon thread (`voc serve` without --no-worker)."""
        thread = threading.Thread(target=self.run_forever, name="voc-worker", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.stopping.set()
        wakeup.set()
