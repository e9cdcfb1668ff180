"""The overview's server time at 10,000 and at 1,000,000 responses: it reads rollups, so it should barely move."""

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
    from voc.analytics.rollups import COUNT_COLUMNS
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
        # Foreign keys are off on this bare connection: responses stand alone (no invitations or contacts),
        # which is all the overview's cost could depend on.
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
            analysis = json.dumps({"sentiment": {"compound": compound, "label": label},
                                   "dimensions": {dimension: {"salience": salience, "valence": valence}},
                                   "themes": ["delivery"], "spans": [], "mismatch": False})
            yield (number, number, survey, survey, touchpoint, 1, nps, csat, ces, "Quick delivery, dented box",
                   stamp, stamp, analysis, compound, stamp, stamp)

    db.executemany("INSERT INTO response (id, invitation_id, survey_id, survey_version_id, touchpoint_id, contact_id, "
                   "status, nps, csat, ces, comment, started_at, completed_at, analysis, analyser_version, "
                   "sentiment, mismatch, analyzed_at, created_at) VALUES "
                   "(?, ?, ?, ?, ?, ?, 'completed', ?, ?, ?, ?, ?, ?, ?, 'bench', ?, 0, ?, ?)", rows())
    columns = ("day", "survey_id", "touchpoint_id", *COUNT_COLUMNS)
    insert = f"INSERT INTO rollup ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"  # noqa: S608
    db.executemany(insert, [(*key, *(values[c] for c in COUNT_COLUMNS)) for key, values in cells.items()])
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.close()
    return time.perf_counter() - started


def _median_ms(call: Any, runs: int = 25) -> float:
    call()  # warm caches and templates
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def measure(path: Path) -> dict[str, float]:
    """Median milliseconds of the overview: its service functions alone, and the whole page signed in."""
    from fastapi.testclient import TestClient
    from sqlmodel import Session

    from voc.analytics import service
    from voc.app import create_app
    from voc.auth.users import create_user
    from voc.db import make_engine, reading

    engine = make_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        create_user(session, "bench@example.com", "viewer", "correct horse battery")
        session.commit()

    def service_only() -> None:
        with Session(reading(engine)) as session:
            filters = service.resolve_filters(session, None, None, "90d")
            service.filter_options(session)
            service.overview(session, filters)

    app = create_app(engine=engine)
    with TestClient(app) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
        client.post("/login", data={"email": "bench@example.com", "password": "correct horse battery",
                                    "csrf_token": token}, follow_redirects=False)
        first = client.get("/dashboard")
        assert first.status_code == 200 and "<h2>NPS</h2>" in first.text, first.status_code
        page = _median_ms(lambda: client.get("/dashboard"))
        filtered = _median_ms(lambda: client.get("/dashboard?period=365d&survey=s1&touchpoint=tp3"))
    result = {"service": _median_ms(service_only), "page": page, "page_filtered": filtered}
    engine.dispose()
    return result


def main(argv: list[str] | None = None) -> int:
    """Build both databases, time the overview on each, print them side by side."""
    import os

    os.environ.setdefault("VOC_SECRET_KEY", "bench-secret-key-0123456789abcdef0123456789")
    os.environ.setdefault("VOC_ENV", "test")
    sizes = [int(a) for a in (argv or [])] or list(SIZES)
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            path = Path(folder) / f"dash_{size}.db"
            seconds = build(path, size)
            rollups = sqlite3.connect(path).execute("SELECT count(*) FROM rollup").fetchone()[0]
            print(f"built {size:>9,} responses ({rollups:,} rollup rows, "
                  f"{path.stat().st_size / 1e6:.0f} MB) in {seconds:.1f} s", flush=True)
            results[size] = measure(path)
    print(f"\n{'median ms':<34}" + "".join(f"{s:>14,}" for s in sizes) + f"{'ratio':>10}")
    for key, title in (("service", "overview service functions"), ("page", "GET /dashboard (signed in)"),
                       ("page_filtered", "GET /dashboard filtered, 365d")):
        figures = [results[s][key] for s in sizes]
        ratio = figures[-1] / figures[0] if figures[0] else float("nan")
        print(f"{title:<34}" + "".join(f"{v:>14.1f}" for v in figures) + f"{ratio:>9.2f}×")
    worst = max(results[sizes[-1]].values())
    print(f"\naim: < 100 ms at {sizes[-1]:,} and < 1.5× the {sizes[0]:,} time — "
          f"{'met' if worst < 100 else 'NOT met'} on time")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main(sys.argv[1:]))
