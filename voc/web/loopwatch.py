"""Watching the event loop: the rule is that no request holds it (database work and rendering run in
threads), and this is how a breach shows, in the log with where the loop was, and at /metrics."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
import traceback
from types import FrameType

log = logging.getLogger(__name__)

TICK = 0.02  # seconds between two beats of the probe


def _waiting(frame: FrameType | None) -> bool:
    """The loop thread is in the selector: idle, or back from it and waiting for the GIL (not held)."""
    return frame is not None and frame.f_code.co_name in ("select", "poll") and \
        frame.f_code.co_filename.endswith("selectors.py")


class LoopWatch:
    """A timer that should fire every TICK records how late the loop ran it (its lag). A thread beside
    it looks at the loop thread while a beat is overdue: when the loop is running code (not waiting in
    the selector), something holds it, and a lag past `warn_after` is then a "hold", logged with the
    stack where the loop was. A late beat with the loop waiting in the selector is CPU or GIL
    starvation from other threads, counted apart (it shows as lag, not as a hold)."""

    def __init__(self, warn_after: float) -> None:
        self.warn_after = warn_after
        self.max_lag = 0.0  # seconds, since start
        self.held = 0  # beats later than warn_after while the loop was running code
        self.max_held = 0.0
        self._beat = time.monotonic()
        self._held_at: str | None = None  # where the loop was, for the beat that is overdue now
        self._loop_thread: int | None = None
        self._stopping = threading.Event()

    async def run(self) -> None:
        """The probe: runs on the loop until cancelled."""
        self._loop_thread = threading.get_ident()
        threading.Thread(target=self._watch, name="voc-loop-watch", daemon=True).start()
        try:
            while True:
                self._beat, self._held_at = time.monotonic(), None
                await asyncio.sleep(TICK)
                lag = max(0.0, time.monotonic() - self._beat - TICK)
                self.max_lag = max(self.max_lag, lag)
                if lag > self.warn_after and self._held_at is not None:
                    self.held += 1
                    self.max_held = max(self.max_held, lag)
                    log.warning("event loop held for %.0f ms; it was at:\n%s", lag * 1000, self._held_at)
        finally:
            self._stopping.set()

    def _watch(self) -> None:
        # Looks twice per warn_after (not every tick): each look takes the GIL from the loop and the writer.
        while not self._stopping.wait(max(TICK, self.warn_after / 2)):
            beat = self._beat
            if self._held_at is not None or time.monotonic() - beat <= TICK + self.warn_after / 2:
                continue
            frame = sys._current_frames().get(self._loop_thread or -1)
            if frame is not None and not _waiting(frame) and beat == self._beat:
                self._held_at = "".join(traceback.format_stack(frame, limit=12))

    def exposition(self) -> list[str]:
        """Prometheus lines for /metrics."""
        return ["# HELP voc_event_loop_lag_max_seconds Longest delay of the event loop since start.",
                "# TYPE voc_event_loop_lag_max_seconds gauge", f"voc_event_loop_lag_max_seconds {self.max_lag:.6f}",
                "# HELP voc_event_loop_held_total Times code on the event loop held it past VOC_LOOP_STALL_WARN_MS.",
                "# TYPE voc_event_loop_held_total counter", f"voc_event_loop_held_total {self.held}",
                "# HELP voc_event_loop_held_max_seconds Longest such hold since start.",
                "# TYPE voc_event_loop_held_max_seconds gauge",
                f"voc_event_loop_held_max_seconds {self.max_held:.6f}"]
