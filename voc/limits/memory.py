"""Token buckets kept in this process: the limits of a single `voc serve` on SQLite (the default), the
fallback of the shared stores while they are unavailable, and the worker's per-endpoint webhook rate.

Behind N processes these limits are N times as high: voc.limits keeps them in PostgreSQL or Redis then."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class TokenBuckets:
    """`per_minute` requests per key, in bursts of up to `burst`; the least recently seen keys are
    forgotten beyond `max_keys` (a forgotten key starts again with a full bucket)."""

    def __init__(self, per_minute: float, burst: float, *, max_keys: int = 50_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.burst = burst
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one token for `key`: 0.0 if allowed, else the seconds until one is available."""
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
            self._buckets[key] = (tokens - 1 if not wait else tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        return wait

    async def take_async(self, key: str) -> float:
        """take(), from the event loop: no I/O, so it runs right there."""
        return self.take(key)


def retry_after(seconds: float) -> str:
    """A Retry-After header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
