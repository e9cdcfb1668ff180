"""The worker loop: claim due jobs, run them, sleep until woken or the next poll."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from typing import Protocol

from sqlalchemy.engine import Engine

from voc.config import get_settings
from voc.db import get_engine
from voc.jobs.models import Job
from voc.jobs.queue import claim_due_jobs, release_jobs, renew_leases, run_housekeeping, run_job, wakeup

log = logging.getLogger(__name__)


def load_handlers() -> None:
    """Import every module that registers job handlers."""
    import voc.email.tasks  # noqa: F401
    import voc.sentiment.tasks  # noqa: F401
    import voc.surveys.tasks  # noqa: F401
    import voc.webhooks.tasks  # noqa: F401


class Busy(Protocol):
    def wait_quiet(self, timeout: float) -> None: ...


# A worker sharing its process with the web server takes at least this share of the time while
# requests keep coming, and all of it when they stop: customers' pages come first, and the queue
# (durable) absorbs a burst instead of every answer waiting on the analysis of the one before.
SHARE_UNDER_LOAD = 0.1


class Heartbeat:
    """While a worker holds claimed jobs, renew their lease every third of VOC_JOB_LEASE_SECONDS, so
    only a worker that died (or hangs for a whole lease) loses them."""

    def __init__(self, engine: Engine, worker_id: str) -> None:
        self.engine, self.worker_id = engine, worker_id
        self.interval = get_settings().job_lease_seconds / 3
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def _beat(self) -> None:
        while not self._done.wait(self.interval):
            try:
                renew_leases(self.engine, self.worker_id)
            except Exception:  # a missed beat is retried; the lease covers two more
                log.exception("worker %s: could not renew its job leases", self.worker_id)

    def __enter__(self) -> Heartbeat:
        self._thread = threading.Thread(target=self._beat, name="voc-job-heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._done.set()


class Worker:
    """Runs jobs until stopped; any number may run at once against one database.

    With `give_way_to` (the web server's Activity, for the worker inside `voc serve`), it waits
    between jobs while requests are being served, up to nine times as long as its last job took."""

    def __init__(self, engine: Engine | None = None, *, batch: int = 10, give_way_to: Busy | None = None) -> None:
        self.engine = engine or get_engine()
        self.batch = batch
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stopping = threading.Event()
        self.give_way_to = give_way_to
        self._owed = 0.0  # seconds to give way before the next job
        load_handlers()

    def _give_way(self) -> None:
        if self.give_way_to is None or self._owed <= 0:
            return
        self.give_way_to.wait_quiet(self._owed)
        self._owed = 0.0

    def _run(self, job: Job) -> None:
        started = time.monotonic()
        run_job(self.engine, job, self.id)
        if self.give_way_to is not None:
            self._owed = (time.monotonic() - started) * (1 - SHARE_UNDER_LOAD) / SHARE_UNDER_LOAD

    def run_once(self) -> int:
        """Claim and run one batch of due jobs; returns how many ran.

        While the batch runs, a heartbeat renews the worker's leases. Jobs it will not run (the worker
        is stopping, or something failed between claiming and running them) are released at once
        rather than left waiting for their lease to run out."""
        jobs = claim_due_jobs(self.engine, self.id, self.batch)
        if not jobs:
            return 0
        started = 0
        with Heartbeat(self.engine, self.id):
            try:
                for job in jobs:
                    if self.stopping.is_set():
                        break
                    self._give_way()
                    started += 1
                    self._run(job)
            finally:
                if started < len(jobs):
                    release_jobs(self.engine, self.id, [job.id for job in jobs[started:]])
        return started

    def run_until_idle(self, max_rounds: int = 100_000) -> int:
        """Run due jobs until none is left (demo loading and tests); returns how many ran."""
        total = 0
        for _ in range(max_rounds):
            ran = self.run_once()
            if not ran:
                break
            total += ran
        return total

    def housekeep(self) -> None:
        """Delete what has outlived its retention (old finished jobs, delivered webhook messages)."""
        try:
            deleted = run_housekeeping(self.engine)
        except Exception:
            log.exception("worker %s: housekeeping failed; it runs again next interval", self.id)
            return
        if any(deleted.values()):
            log.info("worker %s: housekeeping deleted %s", self.id, deleted)

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
            if not ran:
                wakeup.wait(poll)
                wakeup.clear()
        log.info("worker %s stopped", self.id)

    def start_thread(self) -> threading.Thread:
        """Run the loop in a daemon thread (`voc serve` without --no-worker)."""
        thread = threading.Thread(target=self.run_forever, name="voc-worker", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.stopping.set()
        wakeup.set()
