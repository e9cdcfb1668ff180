"""Watching the event loop: the rule is that no request holds it (database work runs in threads), and
this is how a breach shows, in the log with where the loop was, and at /metrics.

A late beat alone does not prove a hold: on a busy machine the loop may simply not get the CPU (other
processes) or the GIL (its own threads), and a crowd arriving at once makes many short callbacks ready
together, which the loop runs back to back (each request's few milliseconds of parsing, one after the
other). A stall counts as a hold when one callback ran through much of it, using the CPU (the loop thread's
own CPU time during the stall reaches half the threshold, and the watcher saw it in one callback for a third
of the threshold), or sat blocked at one place outside the selector without using the CPU (a lock, a socket, a
sleep: the freeze this watch was made for) while the process's other threads did not use it either (back
from a socket write, the loop thread may wait there for the GIL while the request threads render pages)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
import traceback
from types import FrameType

log = logging.getLogger(__name__)

TICK = 0.02  # seconds between two beats of the probe
_CLOCK_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _waiting(frame: FrameType | None) -> bool:
    """The loop thread is in the selector: idle, or back from it and waiting for the GIL (not held)."""
    return frame is not None and frame.f_code.co_name in ("select", "poll") and \
        frame.f_code.co_filename.endswith("selectors.py")


_RUNS_CALLBACKS = asyncio.events.Handle._run.__code__


def _callback(frame: FrameType) -> FrameType | None:
    """The outermost frame of the callback the loop thread is in (a task's coroutine, a protocol's method: the
    frame asyncio's Handle._run called), or None between callbacks. A task keeps its coroutine's frame from
    step to step; another callback is another frame."""
    while frame.f_back is not None:
        if frame.f_back.f_code is _RUNS_CALLBACKS:
            return frame
        frame = frame.f_back
    return None


def _thread_cpu(native_id: int | None) -> float | None:
    """CPU seconds a thread of this process has used (Linux /proc), or None where that cannot be read."""
    if native_id is None:
        return None
    try:
        with open(f"/proc/self/task/{native_id}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICK


class LoopWatch:
    """A timer that should fire every TICK records how late the loop ran it (its lag); a thread beside it
    looks at the loop thread while a beat is overdue and tells a hold from starvation (module docstring).
    A hold past `warn_after` is logged with the stack where the loop was and counted."""

    def __init__(self, warn_after: float) -> None:
        self.warn_after = warn_after
        self.max_lag = 0.0  # seconds, since start
        self.held = 0  # stalls past warn_after that the loop's own code caused
        self.max_held = 0.0
        self._beat = time.monotonic()
        self._blocked_at: str | None = None  # set by the watcher: blocked at one place for the stall
        self._seen: str | None = None  # where the watcher last saw the loop (for the log)
        self._in: FrameType | None = None  # the callback the watcher last saw the loop in, and since when
        self._in_since = 0.0
        self._one = 0.0  # the longest the watcher saw the loop in one callback during this stall (seconds)
        self._one_at: str | None = None  # and where
        self._looked = 0  # how often the watcher looked at the loop during this stall
        self._loop_thread: int | None = None
        self._native: int | None = None
        self._stopping = threading.Event()

    async def run(self) -> None:
        """The probe: runs on the loop until cancelled."""
        self._loop_thread, self._native = threading.get_ident(), threading.get_native_id()
        threading.Thread(target=self._watch, name="voc-loop-watch", daemon=True).start()
        try:
            while True:
                self._beat, self._blocked_at, self._seen, self._one_at = time.monotonic(), None, None, None
                self._in, self._one, self._looked = None, 0.0, 0
                cpu = time.thread_time()
                await asyncio.sleep(TICK)
                lag = max(0.0, time.monotonic() - self._beat - TICK)
                self.max_lag = max(self.max_lag, lag)
                if lag <= self.warn_after:
                    continue
                # Running code through the stall, and one callback for a good part of it (at 100 ms, seen in it three
                # looks running): not a crowd's many short ones back to back. Unseen (no look at all): counted.
                busy = time.thread_time() - cpu >= self.warn_after / 2 and (
                    self._one >= self.warn_after / 3 or not self._looked)
                if busy or self._blocked_at is not None:
                    self.held += 1
                    self.max_held = max(self.max_held, lag)
                    where = self._blocked_at or self._one_at or self._seen or "(not seen)"
                    log.warning("event loop held for %.0f ms (%s); it was at:\n%s", lag * 1000,
                                "running" if busy else "blocked", where)
        finally:
            self._stopping.set()

    def _watch(self) -> None:
        beat, first = None, None  # the overdue beat being watched, and (frame key, cpu, when, process cpu) there
        while not self._stopping.wait(TICK if beat is not None else max(TICK, self.warn_after / 2)):
            current = self._beat
            if time.monotonic() - current <= 2 * TICK:
                beat, first = None, None
                continue
            frame = sys._current_frames().get(self._loop_thread or -1)
            if frame is None or _waiting(frame) or current != self._beat:
                beat, first = None, None
                continue
            callback, now = _callback(frame), time.monotonic()
            key = (frame.f_code, frame.f_lineno, callback)  # one place in one callback (50 responses' sends are 50)
            cpu = _thread_cpu(self._native)
            stack = "".join(traceback.format_stack(frame, limit=12))
            self._seen = stack
            if self._looked and callback is not None and callback is self._in:
                if now - self._in_since > self._one:
                    self._one, self._one_at = now - self._in_since, stack
            else:
                self._in, self._in_since = callback, now
            self._looked += 1
            if beat != current or first is None or first[0] != key:
                beat, first = current, (key, cpu, time.monotonic(), time.process_time())
                continue
            # Still at the same line: blocked there if it used (almost) no CPU meanwhile.
            waited = time.monotonic() - first[2]
            idle = cpu is not None and first[1] is not None and cpu - first[1] < waited / 4 \
                and time.process_time() - first[3] < waited / 2  # no other thread of ours held the GIL meanwhile
            if waited >= self.warn_after / 2 and idle and current == self._beat:
                self._blocked_at = stack

    def exposition(self) -> list[str]:
        """Prometheus lines for /metrics."""
        return ["# HELP voc_event_loop_lag_max_seconds Longest delay of the event loop since start.",
                "# TYPE voc_event_loop_lag_max_seconds gauge", f"voc_event_loop_lag_max_seconds {self.max_lag:.6f}",
                "# HELP voc_event_loop_held_total Times code on the event loop held it past VOC_LOOP_STALL_WARN_MS.",
                "# TYPE voc_event_loop_held_total counter", f"voc_event_loop_held_total {self.held}",
                "# HELP voc_event_loop_held_max_seconds Longest such hold since start.",
                "# TYPE voc_event_loop_held_max_seconds gauge",
                f"voc_event_loop_held_max_seconds {self.max_held:.6f}"]
