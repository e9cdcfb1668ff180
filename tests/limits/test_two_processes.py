"""Two `voc serve` processes behind one address hold one limit between them, not one each: the per-address
limit of the public routes and the sign-in throttle, kept in PostgreSQL (the database) or in Redis
(VOC_REDIS_URL, here beside an SQLite file)."""

from __future__ import annotations

import random
import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlmodel import Session

from tests.crowds.server import voc_serve
from tests.limits.conftest import redis_url
from voc.auth.users import create_user
from voc.db import make_engine

pytestmark = pytest.mark.slow
PER_MINUTE, BURST, FREE_FAILURES = 1, 10, 3  # sign-in: 4 × (GET + POST) within the burst
SETTINGS = {"public_requests_per_minute": str(PER_MINUTE), "public_burst": str(BURST),
            "login_failures_before_delay": str(FREE_FAILURES)}
EMAIL, PASSWORD = "admin@example.com", "correct horse battery"


def _add_admin(url: str) -> None:
    engine = make_engine(url)
    with Session(engine) as session:
        create_user(session, EMAIL, "admin", PASSWORD)
        session.commit()
    engine.dispose()


def _limits_hold_in_total(url: str, log_dir: str, **settings: str) -> None:
    # One address of this test's own (voc serve trusts a proxy on loopback): Redis outlives the test's database.
    address = {"X-Forwarded-For": f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"}
    with voc_serve(url, log_dir, "--no-worker", **SETTINGS, **settings) as one, \
            voc_serve(url, log_dir, "--no-worker", **SETTINGS, **settings) as two:
        servers = (one, two)
        # Answers from one address, sent to both processes in turn: 422 (an empty answer) when let through.
        started = time.monotonic()
        statuses = [httpx.post(f"{servers[n % 2].base}/api/v1/responses", json={}, headers=address,
                                           timeout=30).status_code
                    for n in range(3 * BURST)]
        minutes = (time.monotonic() - started) / 60
        assert set(statuses) == {422, 429}, statuses
        let_through = statuses.count(422)
        # One bucket for both: the burst plus what refilled meanwhile (each process alone would let 2×BURST in).
        assert BURST <= let_through <= BURST + int(minutes * PER_MINUTE), statuses

        # Wrong passwords for one account from one address, to either process: the failures add up.
        clients = [httpx.Client(base_url=server.base, headers=address, timeout=30) for server in servers]
        try:
            def sign_in(client: httpx.Client, password: str) -> httpx.Response:
                token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
                return client.post("/login", data={"email": EMAIL, "password": password, "csrf_token": token})

            assert [sign_in(clients[n % 2], f"guess-{n}").status_code for n in range(FREE_FAILURES)] == [401] * 3
            slowed = sign_in(clients[FREE_FAILURES % 2], PASSWORD)  # the other process: it counted them too
            assert slowed.status_code == 429 and "Too many failed sign-ins" in slowed.text
        finally:
            for client in clients:
                client.close()
        for server in servers:
            assert "Traceback" not in server.log, server.log


def test_two_processes_on_postgresql_share_the_limits(postgres_url, tmp_path):
    _add_admin(postgres_url)
    _limits_hold_in_total(postgres_url, str(tmp_path))


def test_two_processes_with_redis_share_the_limits(sqlite_template, tmp_path):
    url = redis_url()
    database = tmp_path / "voc.db"
    shutil.copy(sqlite_template, database)
    _add_admin(f"sqlite:///{database}")
    _limits_hold_in_total(f"sqlite:///{database}", str(tmp_path), redis_url=url)


def test_a_crowd_from_one_address_across_two_processes_on_postgresql_stays_within_the_burst(postgres_url, tmp_path):
    """Many requests at once from one address: each process takes tokens ahead for it (voc.limits.Leases, a
    tenth of the burst at most) and spends them without asking; the two together still let no more through
    than the burst, and fewer by at most what each holds unspent."""
    burst, crowd = 60, 180
    address = {"X-Forwarded-For": f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"}
    settings = {**SETTINGS, "public_burst": str(burst)}
    with voc_serve(postgres_url, str(tmp_path), "--no-worker", **settings) as one, \
            voc_serve(postgres_url, str(tmp_path), "--no-worker", **settings) as two:
        clients = [httpx.Client(base_url=server.base, headers=address, timeout=30) for server in (one, two)]
        try:
            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=16) as pool:
                statuses = list(pool.map(lambda n: clients[n % 2].post("/api/v1/responses", json={}).status_code,
                                         range(crowd)))
            minutes = (time.monotonic() - started) / 60
        finally:
            for client in clients:
                client.close()
        assert set(statuses) == {422, 429}, statuses
        assert burst - 2 * burst // 10 <= statuses.count(422) <= burst + int(minutes * PER_MINUTE) + 1
        for server in (one, two):
            assert "Traceback" not in server.log, server.log
