"""One thread that takes every call queued while it handled the last ones and handles them together.

The answer path's group commit (voc.db.writers.GroupWriter: one transaction for the writes that arrived
together) and the shared rate limits' decisions on PostgreSQL (voc.limits: one round trip for the
decisions asked together) are both this: the event loop only queues a call and is woken once per batch
with every result, a thread's caller gets a Future."""

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


class BatchThread:
    """Calls queued from anywhere, handled by one thread in batches of up to MAX_BATCH: `handle(batch)`
    returns each call's outcome. A call still queued after `timeout` seconds is the handler's to refuse
    (its `deadline`)."""

    MAX_BATCH = 64

    def __init__(self, name: str, timeout: float) -> None:
        self.timeout = timeout
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
            try:
                outcomes = self.handle(batch)
            except BaseException as exc:  # never leave a caller waiting, whatever happened
                outcomes = [(call, False, exc) for call in batch]
            self._deliver(outcomes)
            if stop:
                return

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
