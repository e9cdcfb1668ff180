"""Limits kept in PostgreSQL: each call is one statement, computed in SQL on the rows of its keys.

A token bucket is an upsert (INSERT … ON CONFLICT DO UPDATE … RETURNING) that refills the row's tokens
for the time since its last change and takes what the call asked for: a batch of decisions takes n tokens
from a key's row at once, granting as many as n takes one by one would, so a batch costs one statement
however many requests and keys it holds. The row lock makes concurrent batches from any number of
processes take their tokens one after the other. The statements run on a small pool of autocommit
connections of their own, so a request transaction never waits for one, and a statement timeout bounds
every wait (a failure lets the process decide alone, voc.limits.Guard).
The table is UNLOGGED and commits do not wait for the WAL: limits are worth no durability."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import psycopg
from sqlalchemy.engine import URL, make_url

_NOW = "extract(epoch FROM now())::float8"


def _taken(refilled: str, at: str) -> str:
    """The row (tokens, updated_epoch, expires_epoch, last_wait, last_granted) once asked row `a` took its n
    tokens from a bucket holding `refilled` tokens at `at`: each take gets one while one is left."""
    return f"""LATERAL (
        SELECT r - g, at, at + (a.burst - r + g) / a.rate, CASE WHEN g < a.n THEN (1 - r + g) / a.rate ELSE 0 END, g
        FROM (SELECT {refilled}, {at}) AS s(r, at), LATERAL (SELECT least(a.n, floor(r))::int) AS d(g)) AS t"""  # noqa: S608


# n takes per key, in key order (so two processes' batches never wait for each other's rows in a ring), each
# key once (an upsert may change a row only once). A new key starts with a full bucket; a known one is refilled
# for the time since its last change. RETURNING sees only the new row, hence last_granted and last_wait in it.
TAKE = f"""
WITH asked AS (SELECT * FROM unnest(%(keys)s::text[], %(ns)s::int[], %(rates)s::float8[], %(bursts)s::float8[])
               AS a(key, n, rate, burst))
INSERT INTO rate_limit AS b (key, tokens, updated_epoch, expires_epoch, last_wait, last_granted)
SELECT a.key, t.* FROM asked a, {_taken("a.burst", _NOW)} ORDER BY a.key
ON CONFLICT (key) DO UPDATE SET (tokens, updated_epoch, expires_epoch, last_wait, last_granted) = (
    SELECT t.* FROM asked a, {_taken("least(a.burst, b.tokens + greatest(0, EXCLUDED.updated_epoch - b.updated_epoch) "
                                     "* a.rate)", "greatest(b.updated_epoch, EXCLUDED.updated_epoch)")}
    WHERE a.key = EXCLUDED.key)
RETURNING key, last_granted, last_wait"""  # noqa: S608 - constant fragments; values are bound

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
        granted, wait = self.take_many([(key, rate, burst, 1)])[0]
        return 0.0 if granted else wait

    def take_many(self, asked: Sequence[tuple[str, float, float, int]]) -> list[tuple[int, float]]:
        """For each (key, rate, burst, n) asked, n tokens from `key`'s bucket if there are (a request's own, then
        tokens taken ahead: voc.limits.Leases), in one statement: (tokens granted, the wait of one refused).
        The takes from one key are decided together, as one by one in the order asked would: first one token
        for each asked in turn while there are, then the rest of what each asked for."""
        by_key: dict[str, list[int]] = {}
        for i, (key, *_) in enumerate(asked):
            by_key.setdefault(key, []).append(i)
        # A key holds its limit's name, so its takes share one rate and burst; were they to differ, the first
        # asked's would apply to all of them (a statement may change a key's row only once).
        first = [asked[takes[0]] for takes in by_key.values()]
        params = {"keys": list(by_key), "ns": [sum(asked[i][3] for i in takes) for takes in by_key.values()],
                  "rates": [float(rate) for _, rate, _, _ in first],
                  "bursts": [float(burst) for _, _, burst, _ in first]}
        with self._connection() as connection:
            rows = connection.execute(TAKE, params).fetchall()
        results = [(0, 0.0)] * len(asked)
        for key, granted, wait in rows:
            takes = by_key[key]
            left = max(0, granted - len(takes))  # after one token each for the first `granted` asked
            for position, i in enumerate(takes):
                if position < granted:
                    ahead = min(left, asked[i][3] - 1)
                    left -= ahead
                    results[i] = (1 + ahead, 0.0)
                else:
                    results[i] = (0, float(wait))
        return results

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
