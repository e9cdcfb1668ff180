"""Memory: a `voc serve` process's RSS after 100,000 answers through the public API, and the explorer's CSV
export of 1,000,000 responses streamed through a real server: rows/s and the server's RSS growth while it
streams. SQLite always; the export on PostgreSQL too when it is reachable.

Scale: `python bench/bench_memory.py [ANSWERS [ROWS]]`, or VOC_BENCH_MEMORY_ANSWERS / VOC_BENCH_MEMORY_ROWS."""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ANSWERS = int(os.environ.get("VOC_BENCH_MEMORY_ANSWERS", "100000"))
ROWS = int(os.environ.get("VOC_BENCH_MEMORY_ROWS", "1000000"))
RSS_AIM_MB, GROWTH_AIM_MB, ROWS_PER_SECOND_AIM = 300, 50, 20_000
EMAIL, PASSWORD = "bench@example.com", "correct horse battery"
DAYS = 80  # every response inside the export's 365-day period
# What the analyser makes of COMMENT (`voc analyze`), spans and all, as the worker stores it.
COMMENT = "The parcel came late and the box was dented. The driver was friendly though, and support sorted the refund"
ANALYSIS = ('{"sentiment": {"compound": 0.1416, "label": "positive"}, "dimensions": {"sense": {"salience": 0.367, '
            '"valence": -0.469}, "feel": null, "think": null, "act": {"salience": 0.531, "valence": 0.112}, "relate": '
            '{"salience": 0.381, "valence": 0.702}}, "themes": ["parcel", "packaging", "customer service", "refund", '
            '"driver"], "spans": [{"start": 0, "end": 20, "dimension": "act", "valence": -0.391}, {"start": 21, '
            '"end": 44, "dimension": "sense", "valence": -0.469}, {"start": 45, "end": 68, "dimension": "relate", '
            '"valence": 0.702}, {"start": 77, "end": 115, "dimension": "act", "valence": 0.614}], "mismatch": false}')

_SERIES = {  # n rows numbered 1..n, on each database
    "sqlite": "WITH RECURSIVE series(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM series WHERE n < {count}) ",
    "postgresql": "WITH series(n) AS (SELECT generate_series(1, {count})) ",
}
_AGO = {  # a moment n seconds before now, as each database stores voc's UTC times (SQLite: as SQLAlchemy writes them)
    "sqlite": "strftime('%Y-%m-%d %H:%M:%S.000000', 'now', '-' || ({seconds}) || ' seconds')",
    "postgresql": "now() - make_interval(secs => {seconds})",
}
_MOD = {"sqlite": "(n % {})", "postgresql": "mod(n, {})"}  # n modulo a number (psycopg reads % as a placeholder)
# One touchpoint and survey, then a contact, an invitation and a completed, analysed response per number: bench
# data made in one statement each (the placeholders are this file's own fragments, no input).
_FILL = (
    "INSERT INTO touchpoint (id, key, name, stage, channel, created_at) "
    "VALUES (1, 'delivered', 'Order delivered', 'delivery', 'web', {now})",
    "INSERT INTO survey (id, key, title, status, questions, triggers, recontact_days, thank_you, version, created_at, "
    "updated_at) VALUES (1, 'bench', 'Bench', 'active', {questions}, {empty}, 0, '', 1, {now}, {now})",
    "INSERT INTO survey_version (id, survey_id, version, title, questions, thank_you, created_at) "
    "VALUES (1, 1, 1, 'Bench', {questions}, '', {now})",
    "INSERT INTO contact (id, crm, external_id, attributes, opted_out, created_at, updated_at) {series}"
    "SELECT n, 'default', 'CUS-' || n, {object}, {false}, {now}, {now} FROM series",
    "INSERT INTO invitation (id, token_hash, token_nonce, survey_id, survey_version_id, touchpoint_id, contact_id, "
    "channel, status, invited_at, expires_at, completed_at, created_at) {series}"
    "SELECT n, 'bench-' || n, 'n', 1, 1, 1, n, 'link', 'completed', {when}, {when}, {when}, {when} FROM series",
    "INSERT INTO response (id, invitation_id, survey_id, survey_version_id, touchpoint_id, contact_id, status, nps, "
    "comment, started_at, completed_at, analysis, analyser_version, sentiment, mismatch, analyzed_at, created_at) "
    "{series}SELECT n, n, 1, 1, 1, n, 'completed', {nps}, '{comment} (order ' || n || ').', {when}, {when}, "
    "{analysis}, 'bench', 0.1416, {false}, {when}, {when} FROM series",
)
QUESTIONS = ('[{"id": "nps", "type": "nps", "prompt": "Recommend?", "required": true}, '
             '{"id": "why", "type": "text", "prompt": "Why?"}]')


def fill(url: str, rows: int) -> float:
    """Migrate `url` and bulk-insert `rows` completed, analysed responses (each with its contact and
    invitation) spread over the last DAYS days; returns seconds."""
    from voc.db import dispose_engines, make_engine, migrate

    started = time.perf_counter()
    migrate(url)
    dispose_engines()
    engine = make_engine(url)
    dialect = engine.dialect.name
    json_cast = "::jsonb" if dialect == "postgresql" else ""
    values = {"series": _SERIES[dialect].format(count=rows), "now": _AGO[dialect].format(seconds="0"),
              "when": _AGO[dialect].format(seconds=_MOD[dialect].format(f"{DAYS * 86400}")), "false": "false",
              "nps": _MOD[dialect].format("11"),
              "questions": f"'{QUESTIONS}'{json_cast}", "empty": f"'[]'{json_cast}", "object": f"'{{}}'{json_cast}",
              "analysis": f"'{ANALYSIS}'{json_cast}", "comment": COMMENT}
    statements = [template.format(**values) for template in _FILL]
    if dialect == "sqlite":
        db = sqlite3.connect(engine.url.database, isolation_level=None)
        db.execute("BEGIN")
        for statement in statements:
            db.execute(statement)
        db.execute("COMMIT")
        db.execute("ANALYZE")
        db.close()
    else:
        with engine.begin() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
            for table in ("touchpoint", "survey", "survey_version", "contact", "invitation", "response"):
                connection.exec_driver_sql(  # the next ids voc hands out follow the bench's own
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # noqa: S608
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    return time.perf_counter() - started


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A process's resident memory (or its peak since the last reset_peak, field VmHWM), in MB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for process {pid}")


def reset_peak(pid: int) -> None:
    """Start VmHWM again from the current RSS (Linux: clear_refs 5), so it holds the peak of what follows."""
    with open(f"/proc/{pid}/clear_refs", "w") as refs:
        refs.write("5")


def _environment(url: str) -> dict[str, str]:
    return {"VOC_DATABASE_URL": url, "VOC_SECRET_KEY": SECRET_KEY, "VOC_LOG_LEVEL": "WARNING",
            # One client address sends every answer here: lift the per-address limit on public routes.
            "VOC_PUBLIC_REQUESTS_PER_MINUTE": "1000000000", "VOC_PUBLIC_BURST": "1000000"}


SECRET_KEY = secrets.token_urlsafe(32)


def answers_rss(count: int, rounds: int = 10) -> list[tuple[int, float]]:
    """`voc serve` (its worker in the process) on a fresh SQLite file; `count` answers through the public API
    in `rounds` rounds, each waiting for the worker to finish the answers' jobs; RSS (MB) after each round."""
    from bench.bench_submit import ANSWERS, wait_until_no_jobs
    from bench.common import free_port, open_invitations, post_load, python, server

    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "answers.db"
        url = f"sqlite:///{database}"
        tokens = open_invitations(url, count, SECRET_KEY)
        # Every answer its own text, as customers write them: a cache keyed by text would show here.
        bodies = [{"token": token, "answers": [ANSWERS[0], {"question_id": "why", "value": f"{COMMENT} ({n})."}]}
                  for n, token in enumerate(tokens)]
        port = free_port()
        figures = []
        with server([python(), "-m", "voc.cli", "serve", "--port", str(port)], port, env=_environment(url)) as process:
            figures.append((0, rss_mb(process.pid)))
            size = -(-count // rounds)
            for start in range(0, count, size):
                result = post_load(port, "/api/v1/responses", bodies[start:start + size])
                if result["failures"]:
                    raise RuntimeError(f"{result['failures']:.0f} answers refused")
                wait_until_no_jobs(database, timeout=max(300.0, size / 20))
                figures.append((min(start + size, count), rss_mb(process.pid)))
                print(f"  {figures[-1][0]:>9,} answers: RSS {figures[-1][1]:6.1f} MB "
                      f"({result['per_second']:.0f} answers/s)", flush=True)
    return figures


@contextmanager
def signed_in(port: int) -> Iterator[Any]:
    """An httpx client signed in to the dashboard of the server on `port` (the user comes from make_user)."""
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
        answer = client.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token})
        if answer.status_code != 303 or "/login" in answer.headers.get("location", "/login"):
            raise RuntimeError(f"could not sign in: {answer.status_code}")
        yield client


def make_user(url: str) -> None:
    from sqlmodel import Session

    from voc.auth.users import create_user
    from voc.db import make_engine

    engine = make_engine(url)
    with Session(engine) as session:
        create_user(session, EMAIL, "viewer", PASSWORD)
        session.commit()
    engine.dispose()


def export(url: str, rows: int) -> dict[str, float]:
    """The explorer's CSV of every response (`rows` of them, filled beforehand) streamed from `voc serve`:
    rows/s, time to the first row (the query sorts them all first), and the server's RSS before and at its
    peak while streaming."""
    from bench.common import cpu_seconds, free_port, python, server

    make_user(url)
    port = free_port()
    with server([python(), "-m", "voc.cli", "serve", "--port", str(port)], port, env=_environment(url)) as process, \
            signed_in(port) as client:
        warm = client.get("/dashboard/responses.csv", params={"period": "7d", "q": "no such comment"})
        assert warm.status_code == 200, warm.status_code
        before = rss_mb(process.pid)
        reset_peak(process.pid)
        cpu = cpu_seconds(process.pid)
        lines, first_row, started = 0, None, time.perf_counter()
        with client.stream("GET", "/dashboard/responses.csv", params={"period": "365d"}) as answer:
            assert answer.status_code == 200, answer.status_code
            for chunk in answer.iter_raw():
                lines += chunk.count(b"\r\n")  # the bench's comments hold no line breaks
                if first_row is None and lines > 1:
                    first_row = time.perf_counter() - started
        seconds = time.perf_counter() - started
        figures = {"rows": lines - 1, "seconds": seconds, "first_row": first_row or seconds,
                   "rss_before": before, "rss_peak": rss_mb(process.pid, "VmHWM"),
                   "cpu_us_per_row": 1e6 * (cpu_seconds(process.pid) - cpu) / max(1, lines - 1)}
    if figures["rows"] != rows:
        raise RuntimeError(f"the export held {figures['rows']} rows, not {rows}")
    return figures


def _report_export(label: str, seconds_to_fill: float, figures: dict[str, float]) -> bool:
    rate, growth = figures["rows"] / figures["seconds"], figures["rss_peak"] - figures["rss_before"]
    met = rate >= ROWS_PER_SECOND_AIM and growth < GROWTH_AIM_MB
    print(f"{label:<11} CSV of {figures['rows']:,} responses (filled in {seconds_to_fill:.0f} s): "
          f"{rate:,.0f} rows/s ({figures['seconds']:.1f} s, first row after {1000 * figures['first_row']:.0f} ms, "
          f"server CPU {figures['cpu_us_per_row']:.0f} µs a row); server RSS {figures['rss_before']:.0f} MB before, "
          f"peak {figures['rss_peak']:.0f} MB (+{growth:.1f} MB); aim ≥ {ROWS_PER_SECOND_AIM:,} rows/s and "
          f"< {GROWTH_AIM_MB} MB: {'met' if met else 'NOT met'}", flush=True)
    return met


def main(argv: list[str] | None = None) -> int:
    """RSS after ANSWERS answers, then the export of ROWS responses on SQLite and PostgreSQL."""
    from bench.common import postgres_database

    args = [int(a) for a in argv or []]
    answers, rows = (args + [ANSWERS, ROWS][len(args):])[:2]
    print(f"voc serve (SQLite, worker in the process), {answers:,} answers through POST /api/v1/responses:",
          flush=True)
    figures = answers_rss(answers)
    peak = max(rss for _, rss in figures)
    print(f"RSS after start {figures[0][1]:.0f} MB, after {answers:,} answers and their jobs {figures[-1][1]:.0f} MB "
          f"(highest {peak:.0f} MB); aim < {RSS_AIM_MB} MB: {'met' if peak < RSS_AIM_MB else 'NOT met'}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'export.db'}"
        _report_export("SQLite", fill(url, rows), export(url, rows))
    with postgres_database("voc_bench_mem") as url:
        if url:
            _report_export("PostgreSQL", fill(url, rows), export(url, rows))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main(sys.argv[1:]))
