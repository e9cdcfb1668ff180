"""Rate limits and sign-in throttles that hold in total across processes.

Where they are kept follows the deployment: in Redis when VOC_REDIS_URL is set (voc.limits.redis_store),
else in PostgreSQL when that is the database (voc.limits.postgres), else in this process (SQLite: one
`voc serve`, voc.limits.memory, with no I/O at all). Callers hold a Limiter and never need to know which.

A shared store's decision is a network round trip, so `take_async` (the ASGI middleware's call on the
event loop) never waits on the loop: Redis is awaited (redis.asyncio); PostgreSQL's decisions go to a
thread of the store's own (never queued behind the request handlers' threads), which makes the decisions
asked while its last round trip ran in one statement (the takes from each key decided together on its row)
and wakes the loop once for all of them. An address sending many requests a second takes a few tokens
ahead with its decision and spends them in the process without asking (Leases): the processes together
still never let more through than the limit.

When the store fails (Redis down, PostgreSQL unreachable or too slow), limits fail open to this process's
own buckets: one warning in the log (then at most one a minute), a count in `voc_limit_store_errors_total`,
and the store is tried again after a few seconds. Never a 500."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine

from voc.batches import BatchThread, Call, Outcome
from voc.config import get_settings
from voc.limits.memory import TokenBuckets, retry_after
from voc.telemetry import LIMIT_STORE_ERRORS

log = logging.getLogger(__name__)
T = TypeVar("T")

__all__ = ["Guard", "Limiter", "Limits", "Store", "TokenBuckets", "limits_for", "retry_after"]


class Limiter(Protocol):
    """Token buckets by key: `take` answers 0.0 (go on) or the seconds until a token is there."""

    def take(self, key: str) -> float:
        """From a thread (a plain handler): may wait on the network."""
        ...

    async def take_async(self, key: str) -> float:
        """From the event loop: never blocks it."""
        ...


class Store(Protocol):
    """Where shared limits are kept: each call is one atomic step, whichever process makes it."""

    name: str

    def take(self, key: str, rate: float, burst: float) -> float: ...
    def admit(self, keys: Sequence[tuple[str, int]], max_delay: float, forget_after: float) -> float: ...
    def fail(self, keys: Sequence[str], forget_after: float) -> None: ...
    def clear(self, key: str) -> None: ...
    def close(self) -> None: ...


class Guard:
    """Calls into a shared store; after a failure, the caller's local answer for RETRY_SECONDS."""

    RETRY_SECONDS = 5.0
    WARN_EVERY_SECONDS = 60.0

    def __init__(self, store: Store) -> None:
        self.store = store
        self._down_until = 0.0
        self._warned_at = -self.WARN_EVERY_SECONDS
        self._decisions: Decisions | None = None
        self._lock = threading.Lock()

    @property
    def down(self) -> bool:
        """The store failed a moment ago: decide locally for now."""
        return time.monotonic() < self._down_until

    def call(self, shared: Callable[[], T], local: Callable[[], T]) -> T:
        """`shared()` unless the store is down; `local()` when it is or when `shared()` fails."""
        if self.down:
            return local()
        try:
            return shared()
        except Exception as exc:  # any failure of the store: the request goes on under local limits
            self._failed(exc)
            return local()

    async def call_async(self, shared: Callable[[], Awaitable[T]], local: Callable[[], T]) -> T:
        """call() for a store that is awaited."""
        if self.down:
            return local()
        try:
            return await shared()
        except Exception as exc:  # as in call()
            self._failed(exc)
            return local()

    def _failed(self, exc: Exception) -> None:
        LIMIT_STORE_ERRORS.inc(self.store.name)
        now = time.monotonic()
        self._down_until = now + self.RETRY_SECONDS
        if now - self._warned_at >= self.WARN_EVERY_SECONDS:
            self._warned_at = now
            log.warning("rate limits: the %s store failed (%s: %s); each process limits on its own until it "
                        "answers again (tried every %g s)", self.store.name, type(exc).__name__, exc,
                        self.RETRY_SECONDS)

    async def decide(self, key: str, rate: float, burst: float, n: int = 1) -> tuple[int, float]:
        """n tokens from `key`'s bucket from the event loop, taken with the others asked meanwhile: (tokens
        granted, the wait of a refused request) as in the store's take_many."""
        if self._decisions is None:
            with self._lock:
                if self._decisions is None:
                    self._decisions = Decisions(self.store)
        return await self._decisions.run(None, (key, rate, burst, n))

    def close(self) -> None:
        if self._decisions is not None:
            self._decisions.close()
        self.store.close()


class Decisions(BatchThread):
    """The store's thread for token takes asked on the event loop (a store not awaited there, PostgreSQL):
    those queued together in one call of the store's take_many, one statement. A failure goes to every
    caller in the batch, and Guard lets each go on under the process's own limits."""

    def __init__(self, store: Store) -> None:
        self.store = store
        super().__init__("voc-limits", timeout=0.0)  # (no deadline: the store's own timeout bounds a call)

    def handle(self, batch: list[Call]) -> list[Outcome]:
        asked = [call for call in batch if call.start()]
        taken = self.store.take_many([call.args for call in asked])
        return [(call, True, granted_and_wait) for call, granted_and_wait in zip(asked, taken, strict=True)]


class Leases:
    """Tokens this process took ahead from a shared bucket for a busy key, spent here without a round trip.

    On PostgreSQL a decision is a thread hop and a round trip: with hundreds of requests a second from one
    address (a crowd behind one NAT, a CRM's bulk submit) it was a fifth of an answer's cost. A key that sent
    more than one request in the last WINDOW seconds asks for as many tokens as it sent then (at most a tenth
    of the burst, less what it is asking for already); a quiet key is decided one request at a time, as
    before. The tokens leave the shared bucket before they are spent, so the processes together never let
    more through than the limit: leases can only make it stricter, by the tokens other processes hold unspent
    (at most a tenth of the burst each), which are dropped HOLD_SECONDS after they were taken."""

    WINDOW = 0.05
    HOLD_SECONDS = 1.0

    def __init__(self, burst: float, *, max_keys: int = 50_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.most = int(burst // 10)
        self.max_keys, self.clock = max_keys, clock
        self._keys: OrderedDict[str, _Lease] = OrderedDict()  # on the event loop only: no lock

    def spend(self, key: str) -> tuple[float | None, _Lease]:
        """Count a request for `key`: 0.0 when it takes a token held here, the wait while the store's last
        refusal holds (no token can be there before: the others' takes only make it later), None when the
        store is to be asked."""
        now = self.clock()
        lease = self._keys.pop(key, None) or _Lease(now)
        self._keys[key] = lease
        while len(self._keys) > self.max_keys:
            self._keys.popitem(last=False)
        if now - lease.window_at >= self.WINDOW:  # a new window: what the last one saw is the key's pace
            lease.last = lease.count if now - lease.window_at < 2 * self.WINDOW else 0
            lease.count, lease.window_at = 0, now
        lease.count += 1
        if now < lease.refused_until:
            return lease.refused_until - now, lease
        if lease.tokens and now < lease.until:
            lease.tokens -= 1
            return 0.0, lease
        lease.tokens = 0
        return None, lease

    def ahead(self, lease: _Lease) -> int:
        """Tokens to ask for beyond the request's own (taken into account as asked until `got`)."""
        extra = max(0, min(self.most, lease.last) - 1 - lease.asking)
        lease.asking += extra
        return extra

    def got(self, lease: _Lease, asked: int, granted: int, wait: float) -> None:
        """The store's answer to a request that asked for `asked` tokens ahead: those granted beyond its own
        are held; a refusal holds for its wait."""
        lease.asking -= asked
        now = self.clock()
        if granted > 1:
            lease.tokens += granted - 1
            lease.until = now + self.HOLD_SECONDS
        elif not granted:
            lease.refused_until = now + wait


class _Lease:
    __slots__ = ("tokens", "until", "asking", "refused_until", "count", "last", "window_at")

    def __init__(self, now: float) -> None:
        self.tokens, self.until, self.asking, self.refused_until = 0, 0.0, 0, 0.0
        self.count, self.last, self.window_at = 0, 0, now


class SharedBuckets:
    """Token buckets in a shared store, named so that different limits never share a key."""

    def __init__(self, guard: Guard, name: str, per_minute: float, burst: float) -> None:
        self.guard, self.name = guard, name
        self.rate, self.burst = per_minute / 60.0, max(1.0, burst)
        self.local = TokenBuckets(per_minute, self.burst)
        self.leases = Leases(self.burst)

    def take(self, key: str) -> float:
        return self.guard.call(lambda: self.guard.store.take(f"{self.name} {key}", self.rate, self.burst),
                               lambda: self.local.take(key))

    async def take_async(self, key: str) -> float:
        if self.guard.down:
            return self.local.take(key)
        store = self.guard.store
        if hasattr(store, "take_async"):  # awaited on the loop (Redis)
            return await self.guard.call_async(
                lambda: store.take_async(f"{self.name} {key}", self.rate, self.burst), lambda: self.local.take(key))
        known, lease = self.leases.spend(key)
        if known is not None:
            return known
        ahead = self.leases.ahead(lease)

        async def shared() -> float:
            granted, wait = 1, 0.0  # (a failed store: nothing held, nothing refused)
            try:
                granted, wait = await self.guard.decide(f"{self.name} {key}", self.rate, self.burst, 1 + ahead)
            finally:
                self.leases.got(lease, ahead, granted, wait)
            return 0.0 if granted else wait

        return await self.guard.call_async(shared, lambda: self.local.take(key))


class Limits:
    """The limits of one deployment: where they are kept (`store`: None for this process alone)."""

    def __init__(self, store: Store | None) -> None:
        self.store = store
        self.guard = Guard(store) if store is not None else None

    def buckets(self, name: str, per_minute: float, burst: float) -> Limiter:
        """Token buckets for the limit called `name`: `per_minute` per key, in bursts of up to `burst`."""
        if self.guard is None:
            return TokenBuckets(per_minute, max(1.0, burst))
        return SharedBuckets(self.guard, name, per_minute, burst)

    def close(self) -> None:
        if self.guard is not None:
            self.guard.close()


def open_store(engine: Engine) -> Store | None:
    """Redis when VOC_REDIS_URL is set, PostgreSQL when it is the database, else None (this process)."""
    url = get_settings().redis_url
    if url:
        from voc.limits.redis_store import RedisStore

        return RedisStore(url)
    if engine.dialect.name == "postgresql":
        from voc.limits.postgres import PostgresStore

        return PostgresStore(engine.url)
    return None


_limits: dict[Engine, Limits] = {}
_limits_lock = threading.Lock()


def limits_for(engine: Engine) -> Limits:
    """The limits of the database behind `engine` (made on first use; closed when the engine is disposed)."""
    limits = _limits.get(engine)
    if limits is None:
        with _limits_lock:
            limits = _limits.get(engine)
            if limits is None:
                limits = _limits[engine] = Limits(open_store(engine))
                event.listen(engine, "engine_disposed", _close)
    return limits


def _close(engine: Engine) -> None:
    limits = _limits.pop(engine, None)
    if limits is not None:
        limits.close()
