"""What a shared rate limit adds to each public request: PublicRateLimit's `await take_async(key)` on the event
loop with the limits in this process (SQLite), in PostgreSQL and in Redis, one request at a time and 32 at
once, and how long the loop itself is held per decision (the rest of the wait is on the store's threads)."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

POSTGRES = os.environ.get("VOC_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("VOC_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
SEQUENTIAL, CONCURRENT, AT_ONCE = 2000, 4000, 32
KEYS = 500  # client addresses: most requests find their bucket's row, as under real traffic


async def _sequential(limiter) -> tuple[list[float], float]:  # noqa: ANN001
    """Microseconds per decision, and microseconds the loop was held per decision (its own CPU time)."""
    times, held = [], 0.0
    for n in range(SEQUENTIAL):
        started, cpu = time.perf_counter(), time.thread_time()
        await limiter.take_async(f"responses 10.0.{n % KEYS // 256}.{n % 256}")
        times.append(1e6 * (time.perf_counter() - started))
        held += time.thread_time() - cpu
    return times, 1e6 * held / SEQUENTIAL


async def _concurrent(limiter) -> float:  # noqa: ANN001
    """Decisions a second with AT_ONCE requests waiting on the limit at any time."""
    queue = list(range(CONCURRENT))

    async def client() -> None:
        while queue:
            n = queue.pop()
            await limiter.take_async(f"responses 10.1.{n % KEYS // 256}.{n % 256}")

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(AT_ONCE)))
    return CONCURRENT / (time.perf_counter() - started)


@contextmanager
def _stores() -> Iterator[dict[str, object]]:
    """name -> Limits, for every store this machine has."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from voc.db import dispose_engines, migrate
    from voc.limits import Limits

    stores: dict[str, object] = {"this process (SQLite)": Limits(None)}
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    name = f"voc_bench_limits_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        print(f"PostgreSQL not measured: {POSTGRES} is not reachable ({type(exc).__name__})")
        name = None
    redis_store = None
    try:
        if name:
            from voc.limits.postgres import PostgresStore

            url = make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
            migrate(url)
            dispose_engines()
            stores["PostgreSQL"] = Limits(PostgresStore(url))
        try:
            from voc.limits.redis_store import RedisStore

            redis_store = RedisStore(REDIS, prefix=f"voc-bench:{uuid.uuid4().hex[:8]}:")
            redis_store.client.ping()
            stores["Redis"] = Limits(redis_store)
        except Exception as exc:
            print(f"Redis not measured: {REDIS} does not answer ({type(exc).__name__})")
            redis_store = None
        yield stores
    finally:
        for limits in stores.values():
            limits.close()
        if redis_store is not None:
            for key in redis_store.client.scan_iter(f"{redis_store.prefix}*"):
                redis_store.client.delete(key)
        if name:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("VOC_SECRET_KEY", "bench-secret-key-0123456789abcdef0123456789")
    os.environ.setdefault("VOC_ENV", "test")
    print(f"{SEQUENTIAL} decisions one at a time, then {CONCURRENT} with {AT_ONCE} at once; {KEYS} addresses, "
          "a generous limit (every request let through)")
    print(f"{'':<24}{'median µs':>11}{'p95 µs':>9}{'loop held µs':>14}{'decisions/s':>13}")
    with _stores() as stores:
        for name, limits in stores.items():
            limiter = limits.buckets("public", per_minute=1e9, burst=1e9)
            times, held = asyncio.run(_sequential(limiter))
            rate = asyncio.run(_concurrent(limiter))
            p95 = statistics.quantiles(times, n=20)[-1]
            print(f"{name:<24}{statistics.median(times):>11.0f}{p95:>9.0f}{held:>14.0f}{rate:>13,.0f}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main(sys.argv[1:]))
