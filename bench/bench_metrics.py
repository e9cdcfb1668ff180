"""A /metrics scrape at 10,000 and 1,000,000 responses: kept counters and one indexed query over the due
jobs, so it should cost the same at both sizes. The COUNT(*) queries the scrape used to run are timed
beside it on the same databases, for contrast. SQLite always; PostgreSQL when it is reachable."""

from __future__ import annotations

import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

SIZES = (10_000, 1_000_000)
DUE_JOBS = 200  # the same small backlog at both sizes: the scrape's cost follows it, not the responses
ROUNDS, MIN_ROUNDS, BUDGET_SECONDS = 300, 30, 60.0
POSTGRES = os.environ.get("VOC_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
# What /metrics counted over whole tables before it kept counters.
OLD_QUERIES = ("SELECT kind, status, count(*) FROM job GROUP BY kind, status",
               "SELECT count(invitation.id) FROM invitation", "SELECT count(response.id) FROM response")

_SERIES = {  # n rows numbered 1..n, on each database
    "sqlite": "WITH RECURSIVE series(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM series WHERE n < {count}) ",
    "postgresql": "WITH series(n) AS (SELECT generate_series(1, {count})) ",
}

# Bulk rows in one statement each (bench data, no input: the placeholders are this file's own fragments).
_FILL = (
    "INSERT INTO invitation (id, token_hash, token_nonce, survey_id, survey_version_id, touchpoint_id, contact_id, "
    "channel, status, invited_at, expires_at, created_at) {series}"
    "SELECT n, 'bench-' || n, 'n', 1, 1, 1, 1, 'link', 'completed', {stamp}, {stamp}, {stamp} FROM series",
    "INSERT INTO response (id, invitation_id, survey_id, survey_version_id, touchpoint_id, contact_id, status, nps, "
    "comment, created_at, completed_at) {series}"
    "SELECT n, n, 1, 1, 1, 1, 'completed', n - (n / 11) * 11, 'Dented box', {stamp}, {stamp} FROM series",
    "INSERT INTO job (kind, payload, status, attempts, max_attempts, run_at, created_at, finished_at) {series}"
    "SELECT 'response.completed', {payload}, 'done', 1, 8, {stamp}, {stamp}, {stamp} FROM series",
)


def fill(url: str, responses: int) -> float:
    """Migrate `url` and bulk-insert `responses` responses with their invitations and one finished job each
    (as a week of traffic leaves them), plus DUE_JOBS queued jobs; returns seconds."""
    from sqlalchemy import insert
    from sqlmodel import Session

    from voc.db import dispose_engines, make_engine, migrate, utcnow
    from voc.jobs.models import Job

    started = time.perf_counter()
    migrate(url)
    dispose_engines()
    engine = make_engine(url)
    dialect = engine.dialect.name
    series = _SERIES[dialect].format(count=responses)
    stamp = "'2026-11-01 12:00:00'" + ("::timestamptz" if dialect == "postgresql" else "")
    payload = "'{}'" + ("::jsonb" if dialect == "postgresql" else "")
    values = {"series": series, "stamp": stamp, "payload": payload}
    statements = [template.format(**values) for template in _FILL]
    if dialect == "sqlite":  # a bare connection: no foreign keys (the rows name no survey or contact)
        db = sqlite3.connect(engine.url.database, isolation_level=None)
        db.execute("BEGIN")
        for statement in statements:
            db.execute(statement)
        db.execute("COMMIT")
        db.close()
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("SET session_replication_role = replica")  # no foreign keys, as above
            for statement in statements:
                connection.exec_driver_sql(statement)
    now, kinds = utcnow(), ("response.completed", "webhook.deliver", "email.invitation", "response.analyse")
    with Session(engine) as session:
        session.execute(insert(Job), [
            {"kind": kinds[n % len(kinds)], "payload": {}, "status": "queued", "attempts": 0, "max_attempts": 8,
             "run_at": now - timedelta(seconds=n), "created_at": now} for n in range(DUE_JOBS)])
        session.commit()
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
    engine.dispose()
    return time.perf_counter() - started


@contextmanager
def _calls(url: str) -> Iterator[dict[str, Callable[[], Any]]]:
    """What is timed on one database: GET /metrics through the app, and the old COUNT(*) queries."""
    from fastapi.testclient import TestClient

    from voc.app import create_app
    from voc.db import make_engine

    engine = make_engine(url)

    def old_scrape() -> None:
        with engine.connect() as connection:
            for query in OLD_QUERIES:
                connection.exec_driver_sql(query).all()

    with TestClient(create_app(engine=engine, serving=True)) as client:  # warmed up as `voc serve` is (gc.freeze)
        answer = client.get("/metrics")
        assert answer.status_code == 200 and "voc_jobs_due" in answer.text, answer.text[:300]
        yield {"scrape": lambda: client.get("/metrics"), "old": old_scrape}
    engine.dispose()


def measure(urls: dict[int, str]) -> dict[int, dict[str, list[float]]]:
    """Milliseconds of each call on each database, interleaved round by round (both sizes see the same load)."""
    times: dict[int, dict[str, list[float]]] = {size: {"scrape": [], "old": []} for size in urls}
    with ExitStack() as stack:
        calls = {size: stack.enter_context(_calls(url)) for size, url in urls.items()}
        for size_calls in calls.values():
            for call in size_calls.values():
                call()
        began = time.perf_counter()
        for number in range(ROUNDS):
            if number >= MIN_ROUNDS and time.perf_counter() - began > BUDGET_SECONDS:
                break
            for size in list(urls) if number % 2 == 0 else reversed(list(urls)):
                for key, call in calls[size].items():
                    if key == "old" and number % 10:
                        continue  # seconds a call at 1M: a few rounds are enough to show it
                    started = time.perf_counter()
                    call()
                    times[size][key].append(1000 * (time.perf_counter() - started))
    return times


def report(name: str, times: dict[int, dict[str, list[float]]]) -> bool:
    small, large = min(times), max(times)
    print(f"\n{name}: median ms (interquartile range), {len(times[small]['scrape'])} interleaved rounds")
    print(f"{'':<38}" + "".join(f"{s:>24,}" for s in (small, large)) + f"{'ratio':>9}  aim (< 1.5×)")
    met = True
    for key, title in (("scrape", "GET /metrics (kept counters)"), ("old", "the old COUNT(*) queries")):
        cells, medians = "", {}
        for size in (small, large):
            values = times[size][key]
            q1, medians[size], q3 = statistics.quantiles(values, n=4) if len(values) > 1 else (values[0],) * 3
            cells += f"{medians[size]:>10.2f} ({q1:>5.2f}–{q3:>6.2f})"
        ratio = medians[large] / medians[small]
        verdict = ("met" if ratio < 1.5 else "NOT met") if key == "scrape" else "(before: for contrast)"
        met = met and (key != "scrape" or ratio < 1.5)
        print(f"{title:<38}{cells}{ratio:>8.2f}×  {verdict}")
    return met


@contextmanager
def _postgres_databases(count: int) -> Iterator[list[str] | None]:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    names = [f"voc_bench_metrics_{uuid.uuid4().hex[:8]}" for _ in range(count)]
    try:
        with admin.connect() as connection:
            for name in names:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # no server: SQLite only
        print(f"\nPostgreSQL not measured: {POSTGRES} is not reachable ({type(exc).__name__})")
        admin.dispose()
        yield None
        return
    try:
        yield [make_url(POSTGRES).set(database=name).render_as_string(hide_password=False) for name in names]
    finally:
        from voc.db import dispose_engines

        dispose_engines()
        with admin.connect() as connection:
            for name in names:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    """Fill both sizes on each database, time the scrape on each (interleaved), print them with the ratio."""
    os.environ.setdefault("VOC_SECRET_KEY", "bench-secret-key-0123456789abcdef0123456789")
    os.environ.setdefault("VOC_ENV", "test")
    os.environ.setdefault("VOC_LOOP_STALL_WARN_MS", "5000")  # the TestClient's first requests build the routes
    sizes = [int(a) for a in (argv or [])] or list(SIZES)
    met = []
    with tempfile.TemporaryDirectory() as folder, _postgres_databases(len(sizes)) as postgres:
        databases = {"SQLite": {size: f"sqlite:///{Path(folder) / f'metrics_{size}.db'}" for size in sizes}}
        if postgres:
            databases["PostgreSQL"] = dict(zip(sizes, postgres, strict=True))
        for name, urls in databases.items():
            for size, url in urls.items():
                print(f"{name}: filled {size:>9,} responses, {size:,} finished jobs and {DUE_JOBS} due jobs "
                      f"in {fill(url, size):.1f} s", flush=True)
            met.append(report(name, measure(urls)))
    print("\naim (the scrape costs the same at both sizes): " + ("met" if all(met) else "NOT met"))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main(sys.argv[1:]))
