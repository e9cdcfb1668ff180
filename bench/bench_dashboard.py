"""The overview's server time at 10,000 and 1,000,000 responses: it reads a rollup row a day, so it should not move."""

from __future__ import annotations

import json
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SIZES = (10_000, 1_000_000)
SURVEYS, TOUCHPOINTS, DAYS = 3, 10, 365
STAGES = ("awareness", "consideration", "purchase", "delivery", "onboarding", "usage", "support", "billing",
          "renewal", "advocacy")
DIMENSIONS = ("sense", "feel", "think", "act", "relate")


def build(path: Path, responses: int, seed: int = 5) -> float:
    """A migrated SQLite file with `responses` responses and their rollups, bulk-inserted; returns seconds."""
    from voc.analytics.rollups import COUNT_COLUMNS, total_cells
    from voc.db import dispose_engines, migrate

    started = time.perf_counter()
    migrate(f"sqlite:///{path}")
    dispose_engines()
    rng = random.Random(seed)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("BEGIN")
    moment = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    now = moment.isoformat(" ")
    db.executemany("INSERT INTO touchpoint (id, key, name, stage, channel, created_at) VALUES (?, ?, ?, ?, 'web', ?)",
                   [(t, f"tp{t}", f"Touchpoint {t}", STAGES[t - 1], now) for t in range(1, TOUCHPOINTS + 1)])
    db.executemany("INSERT INTO survey (id, key, title, status, questions, triggers, recontact_days, thank_you, "
                   "version, created_at, updated_at) VALUES (?, ?, ?, 'active', '[]', '[]', 30, '', 1, ?, ?)",
                   [(s, f"s{s}", f"Survey {s}", now, now) for s in range(1, SURVEYS + 1)])
    db.executemany("INSERT INTO survey_version (id, survey_id, version, title, questions, thank_you, created_at) "
                   "VALUES (?, ?, 1, 'v1', '[]', '', ?)", [(s, s, now) for s in range(1, SURVEYS + 1)])
    cells: dict[tuple[str, int, int], dict[str, float]] = defaultdict(lambda: dict.fromkeys(COUNT_COLUMNS, 0))
    labels = ("negative", "neutral", "positive")

    def rows() -> Any:
        # Foreign keys are off on this bare connection: no contacts; each response has its invitation (below).
        for number in range(1, responses + 1):
            survey, touchpoint = rng.randint(1, SURVEYS), rng.randint(1, TOUCHPOINTS)
            completed = moment - timedelta(seconds=rng.randrange(DAYS * 86400))
            stamp = completed.isoformat(" ")
            nps, csat, ces = rng.randint(0, 10), rng.randint(1, 5), rng.randint(1, 7)
            compound = round(rng.uniform(-1, 1), 3)
            label = labels[0] if compound <= -0.05 else labels[2] if compound >= 0.05 else labels[1]
            dimension = DIMENSIONS[number % 5]
            salience, valence = round(rng.random(), 3), round(rng.uniform(-1, 1), 3)
            cell = cells[(completed.date().isoformat(), survey, touchpoint)]
            cell["responses"] += 1
            cell[f"nps_{nps}"] += 1
            cell["nps_promoters" if nps >= 9 else "nps_passives" if nps >= 7 else "nps_detractors"] += 1
            cell[f"csat_{csat}"] += 1
            cell[f"ces_{ces}"] += 1
            cell["sentiment_sum"] += compound
            cell["sentiment_count"] += 1
            cell[f"sentiment_{label}"] += 1
            cell[f"{dimension}_valence_sum"] += salience * valence
            cell[f"{dimension}_salience_sum"] += salience
            cell[f"{dimension}_count"] += 1
            cell["invitations"] += 1
            cell["opened"] += 1  # each invitation opened, started and completed when it was answered
            cell["started"] += 1
            analysis = json.dumps({"sentiment": {"compound": compound, "label": label},
                                   "dimensions": {dimension: {"salience": salience, "valence": valence}},
                                   "themes": ["delivery"], "spans": [], "mismatch": False})
            yield (number, number, survey, survey, touchpoint, 1, nps, csat, ces, "Quick delivery, dented box",
                   stamp, stamp, analysis, compound, stamp, stamp)

    db.executemany("INSERT INTO response (id, invitation_id, survey_id, survey_version_id, touchpoint_id, contact_id, "
                   "status, nps, csat, ces, comment, started_at, completed_at, analysis, analyser_version, "
                   "sentiment, mismatch, analyzed_at, created_at) VALUES "
                   "(?, ?, ?, ?, ?, ?, 'completed', ?, ?, ?, ?, ?, ?, ?, 'bench', ?, 0, ?, ?)", rows())
    # Every response's invitation, sent, opened and completed when it was answered (the funnel panel reads
    # rollups, but a database without the rows behind them would hide a page that scanned them).
    db.execute("INSERT INTO invitation (id, token_hash, token_nonce, survey_id, survey_version_id, touchpoint_id, "
               "contact_id, channel, status, invited_at, expires_at, opened_at, completed_at, created_at) "
               "SELECT id, 'bench-' || id, 'n', survey_id, survey_version_id, touchpoint_id, 1, 'link', 'completed', "
               "completed_at, completed_at, completed_at, completed_at, completed_at FROM response")
    # The totals over every survey and/or touchpoint, as the worker keeps them (see voc.analytics.rollups).
    totals: dict[tuple[int, int, str], dict[str, float]] = defaultdict(lambda: dict.fromkeys(COUNT_COLUMNS, 0))
    for cell, values in cells.items():
        for key in total_cells(cell):
            for column, value in values.items():
                totals[key][column] += value
    for table, keys, found in (("rollup", ("day", "survey_id", "touchpoint_id"), cells),
                               ("rollup_total", ("survey_id", "touchpoint_id", "day"), totals)):
        columns = (*keys, *COUNT_COLUMNS)
        insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"  # noqa: S608
        db.executemany(insert, [(*key, *(values[c] for c in COUNT_COLUMNS)) for key, values in found.items()])
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.close()
    return time.perf_counter() - started


# What is timed, the same on both databases: (key, title, what to call with a signed-in client).
PAGES = (("page", "GET /dashboard (90 days)", "/dashboard"),
         ("page_survey", "GET /dashboard, one survey, 30 days", "/dashboard?period=30d&survey=s1"),
         ("page_filtered", "GET /dashboard, survey + touchpoint, 365d",
          "/dashboard?period=365d&survey=s1&touchpoint=tp3"))
ROUNDS, MIN_ROUNDS, BUDGET_SECONDS = 40, 10, 120.0


@contextmanager
def _signed_in(path: Path) -> Iterator[dict[str, Callable[[], Any]]]:
    """The calls timed on one database: the overview's service functions alone, and each page signed in."""
    from fastapi.testclient import TestClient
    from sqlmodel import Session

    from voc.analytics import service
    from voc.app import create_app
    from voc.auth.users import create_user
    from voc.db import make_engine, reading
    from voc.surveys.funnel import dashboard_funnels

    engine = make_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        create_user(session, "bench@example.com", "viewer", "correct horse battery")
        session.commit()

    def service_only() -> None:
        with Session(reading(engine)) as session:
            filters = service.resolve_filters(session, None, None, "90d")
            service.filter_options(session)
            service.overview(session, filters)

    def funnel_only() -> None:
        # The page's completion funnel panel (rollups, plus the unfinished partial responses).
        with Session(reading(engine)) as session:
            filters = service.resolve_filters(session, None, None, "90d")
            dashboard_funnels(session, filters.survey_id, filters.touchpoint_id, filters.start, filters.end)

    with TestClient(create_app(engine=engine, serving=True)) as client:  # warmed up as `voc serve` is (gc.freeze)
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
        client.post("/login", data={"email": "bench@example.com", "password": "correct horse battery",
                                    "csrf_token": token}, follow_redirects=False)
        calls: dict[str, Callable[[], Any]] = {"service": service_only, "funnel": funnel_only}
        for key, _title, url in PAGES:
            answer = client.get(url)
            assert answer.status_code == 200 and "<h2>NPS</h2>" in answer.text, (url, answer.status_code)
            calls[key] = lambda url=url: client.get(url)
        yield calls
    engine.dispose()


def rows_read(path: Path) -> int:
    """How many rollup rows the unfiltered overview reads (both periods): the same at any size is the aim."""
    from sqlmodel import Session

    from voc.analytics import service
    from voc.db import make_engine

    engine = make_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        f = service.resolve_filters(session, None, None, "90d")
        count = len(service._by_day(session, f, f.first_day - timedelta(days=f.days), f.last_day))
    engine.dispose()
    return count


def measure(paths: dict[int, Path], rounds: int = ROUNDS) -> dict[int, dict[str, list[float]]]:
    """Milliseconds of every call on every database, interleaved round by round.

    Interleaving (small, large, then large, small, …) exposes both databases to the same background
    load and warm-up, so the ratio compares like with like even on a busy machine."""
    times: dict[int, dict[str, list[float]]] = {size: defaultdict(list) for size in paths}
    with ExitStack() as stack:
        calls = {size: stack.enter_context(_signed_in(path)) for size, path in paths.items()}
        for size_calls in calls.values():  # warm caches and templates
            for call in size_calls.values():
                call()
        order, began = list(paths), time.perf_counter()
        for number in range(rounds):
            if number >= MIN_ROUNDS and time.perf_counter() - began > BUDGET_SECONDS:
                break  # a slow page (seconds a call) gets fewer rounds rather than minutes
            for size in order if number % 2 == 0 else reversed(order):
                for key, call in calls[size].items():
                    started = time.perf_counter()
                    call()
                    times[size][key].append(1000 * (time.perf_counter() - started))
    return times


def _quartiles(values: list[float]) -> tuple[float, float, float]:
    q1, median, q3 = statistics.quantiles(values, n=4)
    return q1, median, q3


def main(argv: list[str] | None = None) -> int:
    """Build both databases, time the overview on each (interleaved), print them side by side with the ratio."""
    import os

    os.environ.setdefault("VOC_SECRET_KEY", "bench-secret-key-0123456789abcdef0123456789")
    os.environ.setdefault("VOC_ENV", "test")
    sizes = [int(a) for a in (argv or [])] or list(SIZES)
    with tempfile.TemporaryDirectory() as folder:
        paths = {}
        for size in sizes:
            paths[size] = path = Path(folder) / f"dash_{size}.db"
            seconds = build(path, size)
            with sqlite3.connect(path) as db:
                daily, totals = (db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608
                                 for t in ("rollup", "rollup_total"))
            print(f"built {size:>9,} responses ({daily:,} daily rollup rows, {totals:,} total rows, "
                  f"{path.stat().st_size / 1e6:.0f} MB) in {seconds:.1f} s; the overview reads "
                  f"{rows_read(path):,} rows", flush=True)
        times = measure(paths)
    small, large = sizes[0], sizes[-1]
    print(f"\nmedian ms of {len(times[small]['service'])} interleaved rounds (interquartile range)")
    print(f"{'':<42}" + "".join(f"{s:>22,}" for s in sizes) + f"{'ratio':>9}  aim (< 100 ms and < 1.5×)")
    titles = {"service": "overview service functions (rollups)", "funnel": "funnel panel",
              **{key: title for key, title, _ in PAGES}}
    missed = []
    for key, title in titles.items():
        if key not in times[small]:
            continue
        cells, medians = "", {}
        for size in sizes:
            q1, medians[size], q3 = _quartiles(times[size][key])
            cells += f"{medians[size]:>8.1f} ({q1:>5.1f}–{q3:>5.1f})"
        ratio = medians[large] / medians[small] if medians[small] else float("nan")
        met = medians[large] < 100 and ratio < 1.5
        missed += [] if met else [title]
        print(f"{title:<42}{cells}{ratio:>8.2f}×  {'met' if met else 'NOT met'}")
    print(f"\naim at {large:,} vs {small:,}: " + (f"NOT met by {', '.join(missed)}" if missed else "met by every row"))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main(sys.argv[1:]))
