"""Limits kept in PostgreSQL: each decision is one statement, computed in SQL on the row of its key.

A token bucket is an upsert (INSERT … ON CONFLICT DO UPDATE … RETURNING) that refills the row's tokens
for the time since its last change and takes one if there is one; the row lock makes concurrent
requests from any number of processes take their tokens one after the other. The statements run on a
small pool of autocommit connections of their own, so a request transaction never waits for one, and a
statement timeout bounds every wait (a failure lets the process decide alone, voc.limits.Guard).
The table is UNLOGGED and commits do not wait for the WAL: limits are worth no durability."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import psycopg
from sqlalchemy.engine import URL, make_url

_NOW = "extract(epoch FROM now())::float8"
# The bucket's tokens refilled up to now (the row's values before the update).
_REFILLED = "least(%(burst)s, b.tokens + greatest(0, EXCLUDED.updated_epoch - b.updated_epoch) * %(rate)s)"
_AFTER = f"CASE WHEN {_REFILLED} >= 1 THEN {_REFILLED} - 1 ELSE {_REFILLED} END"
TAKE = f"""
INSERT INTO rate_limit AS b (key, tokens, updated_epoch, expires_epoch, last_wait)
VALUES (%(key)s, %(burst)s - 1, {_NOW}, {_NOW} + 1 / %(rate)s, 0)
ON CONFLICT (key) DO UPDATE SET
    tokens = {_AFTER},
    last_wait = CASE WHEN {_REFILLED} >= 1 THEN 0 ELSE (1 - {_REFILLED}) / %(rate)s END,
    updated_epoch = greatest(b.updated_epoch, EXCLUDED.updated_epoch),
    expires_epoch = greatest(b.updated_epoch, EXCLUDED.updated_epoch) + (%(burst)s - {_AFTER}) / %(rate)s
RETURNING last_wait"""  # noqa: S608 - constant fragments; values are bound

# Sign-in failures: `tokens` counts them, `updated_epoch` is the last one (or the last attempt let through
# while delays applied). Keys are locked in key order, so two statements never wait for each other in a ring.
ADMIT = f"""
WITH asked(key, free) AS (SELECT * FROM unnest(%(keys)s::text[], %(frees)s::float8[])),
over AS (
    SELECT r.key, r.tokens AS failures, r.updated_epoch AS last, asked.free
    FROM rate_limit r JOIN asked ON asked.key = r.key
    WHERE r.tokens >= asked.free AND {_NOW} - r.updated_epoch <= %(forget)s
    ORDER BY r.key FOR UPDATE OF r),
verdict AS (
    SELECT coalesce(max(greatest(0, last + least(%(max_delay)s, power(2, least(failures - free + 1, 30)))
                                    - {_NOW})), 0) AS wait
    FROM over),
restarted AS (
    UPDATE rate_limit r SET updated_epoch = greatest(r.updated_epoch, {_NOW}),
                            expires_epoch = greatest(r.updated_epoch, {_NOW}) + %(forget)s
    FROM over, verdict WHERE r.key = over.key AND verdict.wait = 0
    RETURNING r.key)
SELECT wait FROM verdict"""  # noqa: S608 - constant fragments; values are bound
FAIL = f"""
INSERT INTO rate_limit AS r (key, tokens, updated_epoch, expires_epoch, last_wait)
SELECT k, 1, {_NOW}, {_NOW} + %(forget)s, 0 FROM unnest(%(keys)s::text[]) AS k ORDER BY k
ON CONFLICT (key) DO UPDATE SET
    tokens = CASE WHEN EXCLUDED.updated_epoch - r.updated_epoch > %(forget)s THEN 1 ELSE r.tokens + 1 END,
    updated_epoch = greatest(r.updated_epoch, EXCLUDED.updated_epoch),
    expires_epoch = greatest(r.updated_epoch, EXCLUDED.updated_epoch) + %(forget)s"""  # noqa: S608 - constant fragments; values are bound
CLEAR = "DELETE FROM rate_limit WHERE key = %(key)s"


class PostgresStore:
    """Token buckets and sign-in failure counts in the rate_limit table."""

    name = "postgresql"

    def __init__(self, url: str | URL, *, max_connections: int = 8) -> None:
        url = make_url(url) if isinstance(url, str) else url
        self.conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.max_connections = max_connections
        self._idle: queue.LifoQueue[psycopg.Connection] = queue.LifoQueue()
        self._opened = 0
        self._lock = threading.Lock()

    def _connect(self) -> psycopg.Connection:
        # Autocommit, and no wait for the WAL at commit: a limit lost in a crash is a bucket full again.
        return psycopg.connect(self.conninfo, autocommit=True, connect_timeout=2,
                               options="-c statement_timeout=2000 -c synchronous_commit=off")

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        """A connection of the store's own pool (psycopg directly: SQLAlchemy's pool cost more than the
        statement); a connection that failed is closed, not given back."""
        try:
            connection = self._idle.get_nowait()
        except queue.Empty:
            with self._lock:
                room = self._opened < self.max_connections
                self._opened += room
            connection = self._open_counted() if room else self._idle.get(timeout=1.0)
        try:
            yield connection
        except BaseException:
            connection.close()
            with self._lock:
                self._opened -= 1
            self._close_idle()  # a restarted server broke them all: the next call connects afresh
            raise
        self._idle.put(connection)

    def _open_counted(self) -> psycopg.Connection:
        try:
            return self._connect()
        except BaseException:
            with self._lock:
                self._opened -= 1
            raise

    def _one(self, sql: str, params: dict) -> float:
        with self._connection() as connection:
            return float(connection.execute(sql, params).fetchone()[0])

    def take(self, key: str, rate: float, burst: float) -> float:
        """Take a token from `key`'s bucket (`rate` tokens a second, at most `burst`): 0.0, or seconds to wait."""
        return self._one(TAKE, {"key": key, "rate": float(rate), "burst": float(burst)})

    def take_many(self, asked: Sequence[tuple[str, float, float]]) -> list[float]:
        """take() for each (key, rate, burst), in one round trip (a pipeline of the same statement); the
        takes run in key order, so two processes' batches never wait for each other's rows in a ring."""
        order = sorted(range(len(asked)), key=lambda i: asked[i][0])
        waits = [0.0] * len(asked)
        with self._connection() as connection, connection.cursor() as cursor:
            cursor.executemany(TAKE, [{"key": asked[i][0], "rate": float(asked[i][1]), "burst": float(asked[i][2])}
                                      for i in order], returning=True)
            for i in order:
                waits[i] = float(cursor.fetchone()[0])
                cursor.nextset()
        return waits

    def admit(self, keys: Sequence[tuple[str, int]], max_delay: float, forget_after: float) -> float:
        """Seconds to wait before a password may be checked for these (key, free failures); 0.0 restarts the
        delay of every key past its free failures (see voc.auth.throttle)."""
        return self._one(ADMIT, {"keys": [k for k, _ in keys], "frees": [float(f) for _, f in keys],
                                 "max_delay": float(max_delay), "forget": float(forget_after)})

    def fail(self, keys: Sequence[str], forget_after: float) -> None:
        """Count a failure for each key (starting afresh when the last one is forgotten)."""
        with self._connection() as connection:
            connection.execute(FAIL, {"keys": list(keys), "forget": float(forget_after)})

    def clear(self, key: str) -> None:
        """Forget a key."""
        with self._connection() as connection:
            connection.execute(CLEAR, {"key": key})

    def close(self) -> None:
        self._close_idle()

    def _close_idle(self) -> None:
        while True:
            try:
                connection = self._idle.get_nowait()
            except queue.Empty:
                return
            connection.close()
            with self._lock:
                self._opened -= 1
