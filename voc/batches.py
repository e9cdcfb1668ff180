"""One thread that takes every call queued while it handled the last ones and handles them together.

The answer path's group commit (voc.db.writers.GroupWriter: one transaction for the writes that arrived
together) and the shared rate limits' decisions on PostgreSQL (voc.limits: one round trip for the
decisions asked together) are both this: the event loop only queues a call and is woken once per batch
with every result, a thread's caller gets a Future.

A batch costs nearly the same whatever its size, so a thread that handles requests' calls (`gather`) waits
up to a millisecond for the calls of the other requests about before it handles what it has, as
PostgreSQL's commit_delay does while other transactions are active (commit_siblings): one commit for
several answers instead of one each. It waits only while its batch has fewer calls than requests were in
flight at once lately (Requests.recent): one client sending one request after another is never held back;
a request that writes nothing (a page, an export) can hold a batch for that millisecond at most."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

Outcome = tuple["Call", bool, Any]  # (call, True, result) or (call, False, exception)


@dataclass
class Call:
    """One queued call and where its outcome goes: a thread's Future, or a coroutine's waiter, resolved on
    its loop with the rest of its batch (one wake-up of the loop per batch, not per call)."""

    fn: Callable[..., Any] | None
    args: tuple
    deadline: float
    future: Future | None = None
    waiter: asyncio.Future | None = None

    def start(self) -> bool:
        """False when the caller has gone away (cancelled) before its turn: then it is not run."""
        if self.future is not None:
            return self.future.set_running_or_notify_cancel()
        return not self.waiter.cancelled()  # (read across threads: a late cancel is caught in _resolve)


def _resolve(outcomes: list[tuple[asyncio.Future, bool, Any]]) -> None:
    for waiter, ok, value in outcomes:
        if not waiter.done():
            waiter.set_result(value) if ok else waiter.set_exception(value)


_STOP = object()


class Requests:
    """HTTP requests in flight in this process (counted by voc.web.activity.Activity, on the event loop), and
    the most that were in flight at once lately (`recent`): how many callers are about, counting those between
    two requests on their keep-alive connections."""

    RECENT_SECONDS = 0.05

    def __init__(self) -> None:
        self.in_flight = 0
        self._peak, self._peak_at = 0, 0.0
        self._lock = threading.Lock()  # (several loops only in tests, but a count that drifts would stay wrong)

    def started(self) -> None:
        now = time.monotonic()
        with self._lock:
            self.in_flight += 1
            if self.in_flight >= self._peak or now - self._peak_at > self.RECENT_SECONDS:
                self._peak, self._peak_at = self.in_flight, now

    def ended(self) -> None:
        with self._lock:
            self.in_flight -= 1

    @property
    def recent(self) -> int:
        """The most requests in flight at once in the last RECENT_SECONDS or so (at least those in flight now)."""
        recent = self._peak if time.monotonic() - self._peak_at <= self.RECENT_SECONDS else 0
        return max(recent, self.in_flight)


REQUESTS = Requests()


class BatchThread:
    """Calls queued from anywhere, handled by one thread in batches of up to MAX_BATCH: `handle(batch)`
    returns each call's outcome. A call still queued after `timeout` seconds is the handler's to refuse
    (its `deadline`). With `gather`, a batch waits a moment for the calls of the other requests about."""

    MAX_BATCH = 64
    GATHER_SECONDS = 0.001  # a few requests' worth of the event loop's work

    def __init__(self, name: str, timeout: float, *, gather: bool = False, requests: Requests = REQUESTS) -> None:
        self.timeout = timeout
        self.gather = gather
        self.requests = requests
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def handle(self, batch: list[Call]) -> list[Outcome]:
        raise NotImplementedError

    def submit(self, fn: Callable[..., Any] | None, args: tuple = ()) -> Future:
        """Queue a call; the future holds its result once handled (or its exception)."""
        future: Future = Future()
        self._queue.put(Call(fn, args, time.monotonic() + self.timeout, future=future))
        return future

    async def run(self, fn: Callable[..., Any] | None, args: tuple = ()) -> Any:
        """Queue a call and wait, without holding the loop, for its result."""
        waiter = asyncio.get_running_loop().create_future()
        self._queue.put(Call(fn, args, time.monotonic() + self.timeout, waiter=waiter))
        return await waiter

    def close(self) -> None:
        """Finish what is queued, then stop the thread."""
        self._queue.put(_STOP)
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch, stop = [first], False
            while len(batch) < self.MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            if not stop and self.gather:
                stop = self._gather(batch)
            try:
                outcomes = self.handle(batch)
            except BaseException as exc:  # never leave a caller waiting, whatever happened
                outcomes = [(call, False, exc) for call in batch]
            self._deliver(outcomes)
            if stop:
                return

    def _gather(self, batch: list[Call]) -> bool:
        """Add the calls of the other requests about, waiting GATHER_SECONDS at most; True on a stop."""
        deadline = 0.0
        while len(batch) < min(self.MAX_BATCH, self.requests.recent):
            now = time.monotonic()
            deadline = deadline or now + self.GATHER_SECONDS
            if now >= deadline:
                break
            try:
                item = self._queue.get(timeout=deadline - now)
            except queue.Empty:
                break
            if item is _STOP:
                return True
            batch.append(item)
        return False

    @staticmethod
    def _deliver(outcomes: list[Outcome]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list] = {}
        for call, ok, value in outcomes:
            if call.future is not None:
                if not call.future.done():
                    call.future.set_result(value) if ok else call.future.set_exception(value)
            else:
                by_loop.setdefault(call.waiter.get_loop(), []).append((call.waiter, ok, value))
        for loop, resolved in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that loop has closed: nobody is waiting any more
                loop.call_soon_threadsafe(_resolve, resolved)
