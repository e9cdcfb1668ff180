"""Answers while an online backup runs: answer submissions per second to `voc serve --no-worker` on
SQLite with and without `voc backup` copying the same database, in alternating rounds (aim: during a
backup, at least half the rate)."""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.bench_submit import ANSWERS, prepare
from bench.common import ROOT, free_port, post_load, python, server

ROUNDS = 3
PER_ROUND = 600
FILLER_MB = 300  # so that one backup outlasts a round of answers


_FILL = ("INSERT INTO bench_filler SELECT randomblob(65536) FROM "
         "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) SELECT i FROM n)")


def _pad(database: Path) -> None:
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE bench_filler (blob BLOB)")
        connection.execute(_FILL, (FILLER_MB * 16,))


def main() -> None:
    from voc.backup import backup_sqlite

    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "bench.db"
        tokens = prepare(database, 2 * ROUNDS * PER_ROUND + 200)
        _pad(database)
        bodies = [{"token": t, "answers": ANSWERS} for t in tokens]
        url = f"sqlite:///{database}"
        port = free_port()
        env = {"VOC_DATABASE_URL": url, "VOC_LOG_LEVEL": "WARNING",
               "VOC_PUBLIC_REQUESTS_PER_MINUTE": "1000000000", "VOC_PUBLIC_BURST": "1000000"}
        plain, during, backups = [], [], []
        with server([python(), "-m", "voc.cli", "serve", "--no-worker", "--port", str(port)], port, env=env):
            post_load(port, "/api/v1/responses", bodies[:200])  # warm up
            chunks = [bodies[200 + i * PER_ROUND:200 + (i + 1) * PER_ROUND] for i in range(2 * ROUNDS)]
            for n in range(ROUNDS):
                plain.append(post_load(port, "/api/v1/responses", chunks[2 * n])["per_second"])
                done = threading.Event()

                def copy(n: int = n, done: threading.Event = done) -> None:
                    report = backup_sqlite(url, Path(tmp) / f"backup-{n}.db")
                    backups.append(report.seconds)
                    done.set()

                thread = threading.Thread(target=copy)
                thread.start()
                time.sleep(0.05)
                figures = post_load(port, "/api/v1/responses", chunks[2 * n + 1])
                overlap = not done.is_set()
                thread.join()
                during.append(figures["per_second"] if overlap else float("nan"))
        size = database.stat().st_size / 2**20
    med = lambda values: sorted(values)[len(values) // 2]  # noqa: E731
    print(f"database {size:.0f} MB; backup took {med(backups):.1f} s (median of {ROUNDS})")
    print(f"answers/s without a backup {med(plain):.0f}, during a backup {med(during):.0f}: "
          f"ratio {med(during) / med(plain):.2f} (aim: at least 0.5)")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
