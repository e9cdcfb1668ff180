"""The worker loop: claim due jobs, run them, sleep until woken or the next poll."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid

from sqlalchemy.engine import Engine

from voc.config import get_settings
from voc.db import get_engine
from voc.jobs.queue import claim_due_jobs, run_housekeeping, run_job, wakeup

log = logging.getLogger(__name__)


def load_handlers() -> None:
    """Import every module that registers job handlers."""
    import voc.email.tasks  # noqa: F401
    import voc.sentiment.tasks  # noqa: F401
    import voc.surveys.tasks  # noqa: F401
    import voc.webhooks.tasks  # noqa: F401


class Worker:
    """Runs jobs until stopped; any number may run at once against one database."""

    def __init__(self, engine: Engine | None = None, *, batch: int = 10) -> None:
        self.engine = engine or get_engine()
        self.batch = batch
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stopping = threading.Event()
        load_handlers()

    def run_once(self) -> int:
        """Claim and run one batch of due jobs; returns how many ran."""
        jobs = claim_due_jobs(self.engine, self.id, self.batch)
        for job in jobs:
            if self.stopping.is_set():
                break
            run_job(self.engine, job, self.id)
        return len(jobs)

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
