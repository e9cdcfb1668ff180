"""Customers arriving together: 50 hosted-form submits at the same moment against `voc serve` (with its
worker), on SQLite and on PostgreSQL: how many were stored, how many got a 5xx, the slowest answer, the
slowest /healthz sampled during the burst, and whether anything held the event loop past 100 ms."""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url

from bench.common import ROOT

BURST = 50
ROUNDS = 3
POSTGRES = os.environ.get("VOC_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _prepare(url: str) -> list[list[str]]:
    """Migrate `url`; one page-layout survey and ROUNDS × BURST open invitations."""
    os.environ.update(VOC_DATABASE_URL=url, VOC_CONTACT_COOLDOWN_DAYS="0")
    from voc.config import get_settings

    get_settings.cache_clear()
    from tests import factories as f
    from voc.db import dispose_engines, migrate, session_scope

    migrate(url)
    with session_scope() as session:
        f.touchpoint(session)
        f.survey(session, layout="page", recontact_days=0)
    with session_scope() as session:
        tokens = [f.token_of(f.event(session, event_id=f"e{n}", contact=f"c{n}").invitation.url)
                  for n in range(ROUNDS * BURST)]
    dispose_engines()
    return [tokens[i * BURST:(i + 1) * BURST] for i in range(ROUNDS)]


def _run(label: str, url: str, log_dir: str) -> None:
    from tests.crowds.server import crowd, voc_serve
    from voc.surveys.models import Response

    rounds = _prepare(url)
    with voc_serve(url, log_dir) as server:
        results = [crowd(server.base, [("POST", f"/s/{t}", {"data": {"q_nps": "9", "q_why": "Fine"}})
                                       for t in tokens]) for tokens in rounds]
        held = server.metric("voc_event_loop_held_total")
        lag = server.metric("voc_event_loop_lag_max_seconds")
    engine = create_engine(url)
    with engine.connect() as connection:
        stored = connection.scalar(select(func.count()).select_from(Response))
    engine.dispose()
    errors = sum(len(r.server_errors) for r in results)
    refused = sum(1 for r in results for status in r.statuses if status != 200 and status not in r.server_errors)
    slowest = max(max(r.seconds) for r in results)
    health = max(max(r.health) for r in results)
    print(f"{label:<11} {ROUNDS}×{BURST} form submits at once: stored {stored}/{ROUNDS * BURST}, 5xx {errors}, "
          f"other refusals {refused}, "
          f"slowest answer {1000 * slowest:.0f} ms, worst /healthz {1000 * health:.0f} ms, "
          f"loop held >100 ms: {held:.0f} times (max lag {1000 * lag:.0f} ms)", flush=True)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _run("SQLite", f"sqlite:///{Path(tmp) / 'crowd.db'}", tmp)
        admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
        name = f"voc_bench_{uuid.uuid4().hex[:8]}"
        try:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        except Exception as exc:  # no server: say so rather than print a figure for one backend only
            print(f"PostgreSQL  not measured: {POSTGRES} is not reachable ({type(exc).__name__})")
            return
        try:
            _run("PostgreSQL", make_url(POSTGRES).set(database=name).render_as_string(hide_password=False), tmp)
        finally:
            from voc.db import dispose_engines

            dispose_engines()
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
