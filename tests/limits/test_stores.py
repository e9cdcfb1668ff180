"""The shared limit stores (PostgreSQL, Redis) decide as the in-process buckets and sign-in throttle do, one
atomic step per decision; and when a store fails, limits fall back to the process's own, never a 500."""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

import voc.limits.tasks  # noqa: F401 - registers the rate_limits housekeeper
from tests.aio import run_async
from tests.conftest import csrf_of
from voc.auth.throttle import SharedLoginThrottle
from voc.config import get_settings
from voc.jobs.queue import run_housekeeping
from voc.limits import Limits
from voc.limits.models import RateLimit
from voc.telemetry import LIMIT_STORE_ERRORS

HOUR = 3600.0
ACCOUNT, ADDRESS = "login account a@example.com 203.0.113.5", "login address 203.0.113.5"


def test_a_bucket_lets_its_burst_through_then_says_how_long_to_wait(store):
    assert [store.take("public a", 1 / HOUR, 3) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert store.take("public a", 1 / HOUR, 3) == pytest.approx(HOUR, rel=0.01)  # one token an hour
    assert store.take("public b", 1 / HOUR, 3) == 0.0  # another key has a bucket of its own


def test_refused_tries_cost_nothing_and_time_refills_up_to_the_burst(store):
    assert store.take("k", 1 / HOUR, 1) == 0.0
    waits = [store.take("k", 1 / HOUR, 1) for _ in range(3)]
    assert all(0 < wait <= HOUR for wait in waits) and waits == sorted(waits, reverse=True)  # no debt grows
    assert store.take("fast", 2, 1) == 0.0  # two tokens a second, bursts of one
    assert 0 < store.take("fast", 2, 1) <= 0.5
    time.sleep(1.5)
    assert [store.take("fast", 2, 1) for _ in range(2)][1] > 0  # a long pause refills one token, not three


def test_takes_from_many_connections_at_once_never_exceed_the_burst(store):
    with ThreadPoolExecutor(max_workers=8) as pool:
        waits = list(pool.map(lambda _n: store.take("crowd", 1 / HOUR, 20), range(80)))
    assert sum(wait == 0.0 for wait in waits) == 20


@pytest.mark.postgres
def test_decisions_asked_together_take_one_round_trip_and_decide_as_one_by_one(postgres_url):
    from voc.limits.postgres import PostgresStore

    store = CountingStore(PostgresStore(postgres_url))
    limits = Limits(store)
    buckets = limits.buckets("public", per_minute=1, burst=20)

    async def crowd() -> list[float]:  # 30 requests from one address and 5 from others, at once
        asked = [buckets.take_async("203.0.113.5") for _ in range(30)]
        asked[5:5] = [buckets.take_async(f"198.51.100.{n}") for n in range(5)]
        return await asyncio.gather(*asked)

    waits = run_async(crowd())
    assert waits[5:10] == [0.0] * 5  # each other address has a bucket of its own
    crowded = waits[:5] + waits[10:]
    assert crowded[:20] == [0.0] * 20 and all(w > 0 for w in crowded[20:])  # the burst, in the order asked
    assert store.decided == 35 and store.calls <= 5  # 35 decisions in a few round trips, not 35
    limits.close()


class CountingStore:
    """A store's decisions, counted: how many and in how many calls."""

    def __init__(self, store) -> None:
        self.store, self.name, self.calls, self.decided = store, store.name, 0, 0

    def take_many(self, asked):
        self.calls += 1
        self.decided += len(asked)
        return self.store.take_many(asked)

    def close(self) -> None:
        self.store.close()


def test_sign_in_failures_delay_the_account_then_restart_and_clear(store):
    keys = [(ACCOUNT, 2), (ADDRESS, 20)]
    assert store.admit(keys, 900, HOUR) == 0.0
    store.fail([ACCOUNT, ADDRESS], HOUR)
    assert store.admit(keys, 900, HOUR) == 0.0  # one failure is free
    store.fail([ACCOUNT, ADDRESS], HOUR)
    assert store.admit(keys, 900, HOUR) == pytest.approx(2.0, abs=0.5)  # past the free ones: 2 s, then 4, 8 …
    store.fail([ACCOUNT, ADDRESS], HOUR)
    assert store.admit(keys, 900, HOUR) == pytest.approx(4.0, abs=0.5)
    assert store.admit([("login account a@example.com 198.51.100.1", 2)], 900, HOUR) == 0.0  # other addresses
    store.clear(ACCOUNT)  # signed in: the account starts afresh (the address keeps its 3 of 20)
    assert store.admit(keys, 900, HOUR) == 0.0


def test_an_attempt_let_through_restarts_the_delay_at_once(store):
    keys = [(ACCOUNT, 1), (ADDRESS, 10)]
    store.fail([ACCOUNT, ADDRESS], HOUR)
    assert store.admit(keys, 1, HOUR) == pytest.approx(1.0, abs=0.5)  # delays capped at one second here
    time.sleep(1.1)
    assert store.admit(keys, 1, HOUR) == 0.0  # let through…
    assert store.admit(keys, 1, HOUR) > 0.5  # …so a parallel guess waits again: one password checked, not many


def test_failures_older_than_the_forgetting_time_start_afresh(store):
    store.fail([ACCOUNT], 0.2)
    store.fail([ACCOUNT], 0.2)
    assert store.admit([(ACCOUNT, 2)], 900, 0.2) > 0
    time.sleep(0.3)
    assert store.admit([(ACCOUNT, 2)], 900, 0.2) == 0.0  # forgotten
    store.fail([ACCOUNT], 0.2)
    assert store.admit([(ACCOUNT, 2)], 900, 0.2) == 0.0  # counted from one again


# --- a store that fails -----------------------------------------------------------------------------------

class DeadStore:
    """A store whose every call fails, as a Redis that went away does."""

    name = "dead"

    def __init__(self) -> None:
        self.calls = 0

    def _fail(self, *_args: object) -> float:
        self.calls += 1
        raise ConnectionError("connection refused")

    take = admit = fail = clear = _fail

    def close(self) -> None:
        pass


def test_a_failing_store_fails_open_to_the_process_own_limits_with_a_warning_and_a_count(caplog):
    dead = DeadStore()
    limits = Limits(dead)
    buckets = limits.buckets("public", per_minute=60, burst=2)
    errors = LIMIT_STORE_ERRORS.value("dead")
    with caplog.at_level(logging.WARNING, logger="voc.limits"):
        waits = [buckets.take("203.0.113.5") for _ in range(3)]
    assert waits[:2] == [0.0, 0.0] and waits[2] > 0  # this process's own bucket decides
    assert dead.calls == 1  # then the store is left alone for a few seconds, not asked per request
    assert LIMIT_STORE_ERRORS.value("dead") == errors + 1
    assert [r.getMessage() for r in caplog.records if "store failed" in r.getMessage()] == [
        "rate limits: the dead store failed (ConnectionError: connection refused); each process limits on its "
        "own until it answers again (tried every 5 s)"]

    throttle = SharedLoginThrottle(limits, free_failures=1, max_delay=900)
    throttle.failed("a@example.com", "203.0.113.5")
    assert throttle.admit("a@example.com", "203.0.113.5") > 0  # the local throttle counted the failure
    throttle.succeeded("a@example.com", "203.0.113.5")
    assert throttle.admit("a@example.com", "203.0.113.5") == 0.0
    limits.close()


def test_when_a_batch_of_decisions_fails_every_request_in_it_goes_on_under_local_limits():
    dead = DeadStore()
    dead.take_many = dead._fail
    limits = Limits(dead)
    buckets = limits.buckets("public", per_minute=60, burst=2)
    errors = LIMIT_STORE_ERRORS.value("dead")

    async def crowd() -> list[float]:
        return await asyncio.gather(*[buckets.take_async("203.0.113.5") for _ in range(3)])

    waits = run_async(crowd())
    assert waits[:2] == [0.0, 0.0] and waits[2] > 0  # this process's own bucket decided, no exception
    assert LIMIT_STORE_ERRORS.value("dead") > errors
    limits.close()


def test_with_redis_down_the_public_routes_and_sign_in_still_answer(engine, make_user, monkeypatch):
    from voc.app import create_app

    monkeypatch.setenv("VOC_REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    monkeypatch.setenv("VOC_PUBLIC_REQUESTS_PER_MINUTE", "60")
    monkeypatch.setenv("VOC_PUBLIC_BURST", "3")
    get_settings.cache_clear()
    email, password = make_user("admin")
    with TestClient(create_app(engine=engine), client=("203.0.113.5", 4000)) as client:
        statuses = [client.post("/api/v1/responses", json={}).status_code for _ in range(4)]
        assert statuses == [422, 422, 422, 429]  # no 500: the process's own buckets hold the limit
        colleague = TestClient(client.app, client=("198.51.100.7", 4000))
        token = csrf_of(colleague.get("/login").text)
        signed_in = colleague.post("/login", data={"email": email, "password": password, "csrf_token": token},
                                   follow_redirects=False)
        assert signed_in.status_code == 303
    assert LIMIT_STORE_ERRORS.value("redis") >= 1


# --- housekeeping -----------------------------------------------------------------------------------------

def test_housekeeping_deletes_the_rows_that_say_nothing_any_more(engine):
    now = time.time()
    with Session(engine) as session:
        session.add(RateLimit(key="public old", tokens=1, updated_epoch=now - 100, expires_epoch=now - 50))
        session.add(RateLimit(key="public live", tokens=0, updated_epoch=now, expires_epoch=now + 50))
        session.commit()
    assert run_housekeeping(engine)["rate_limits"] == 1
    with Session(engine) as session:
        assert session.exec(select(RateLimit.key)).all() == ["public live"]
