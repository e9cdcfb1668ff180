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
    sent = statements_sent(store.store)
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
    assert len(sent) == store.calls  # each of them one statement
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


def statements_sent(store) -> list[str]:
    """The statements a PostgresStore sends from now on, one entry each (a pipeline's too)."""
    import psycopg

    sent: list[str] = []

    class Counting(psycopg.Cursor):
        def execute(self, query, params=None, **options):
            sent.append(query)
            return super().execute(query, params, **options)

        def executemany(self, query, params_seq, **options):
            params_seq = list(params_seq)
            sent.extend([query] * len(params_seq))
            return super().executemany(query, params_seq, **options)

    connect = store._connect

    def counted() -> psycopg.Connection:
        connection = connect()
        connection.cursor_factory = Counting
        return connection

    store._connect = counted
    return sent


# --- PostgreSQL decides a batch in one statement ----------------------------------------------------------

def take_each(store, asked: list[tuple[str, float, float]]) -> list[float]:
    """One token for each (key, rate, burst) asked, in one take_many: the wait each request is told."""
    return [0.0 if granted else wait for granted, wait in store.take_many([(*a, 1) for a in asked])]


@pytest.fixture
def postgres_store(postgres_url):
    from voc.limits.postgres import PostgresStore

    store = PostgresStore(postgres_url)
    yield store
    store.close()


@pytest.mark.postgres
def test_a_batch_on_one_key_grants_its_burst_to_the_first_asked_and_the_same_wait_to_the_rest(postgres_store):
    waits = take_each(postgres_store, [("public a", 1 / HOUR, 3.5)] * 6)  # a fresh bucket of 3.5 tokens
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3:] == [waits[3]] * 3 and waits[3] == pytest.approx(HOUR / 2, rel=0.01)  # half a token left
    one_by_one = [postgres_store.take("public b", 1 / HOUR, 3.5) for _ in range(6)]
    assert waits == pytest.approx(one_by_one, abs=1.0)  # (the clock moves between the two)


@pytest.mark.postgres
def test_keys_interleaved_in_a_batch_keep_their_own_buckets(postgres_store):
    asked = [("x a", 1 / HOUR, 2), ("x b", 1 / 60, 2), ("x a", 1 / HOUR, 2), ("x c", 1 / HOUR, 1),
             ("x a", 1 / HOUR, 2), ("x b", 1 / 60, 2), ("x b", 1 / 60, 2), ("x c", 1 / HOUR, 1)]
    waits = take_each(postgres_store, asked)
    assert waits == [0.0, 0.0, 0.0, 0.0, pytest.approx(HOUR, rel=0.01), 0.0, pytest.approx(60, rel=0.01),
                     pytest.approx(HOUR, rel=0.01)]  # two each from a and b, one from c, in the order asked
    one_by_one = [postgres_store.take(f"y {key[-1]}", rate, burst) for key, rate, burst in asked]
    assert waits == pytest.approx(one_by_one, abs=1.0)  # (the clock moves between the two)


@pytest.mark.postgres
def test_a_batch_takes_the_tokens_the_previous_one_left_and_the_time_since_refilled(postgres_store):
    assert take_each(postgres_store, [("slow", 1 / HOUR, 5)] * 2) == [0.0, 0.0]
    waits = take_each(postgres_store, [("slow", 1 / HOUR, 5)] * 4)
    assert waits[:3] == [0.0] * 3 and waits[3] == pytest.approx(HOUR, rel=0.01)  # 3 of 5 were left
    assert take_each(postgres_store, [("fast", 10, 2)] * 3)[2] == pytest.approx(0.1, abs=0.05)  # 10 a second
    time.sleep(0.5)  # five tokens' worth of time refills the bucket up to its burst of two
    waits = take_each(postgres_store, [("fast", 10, 2)] * 3)
    assert waits[:2] == [0.0, 0.0] and waits[2] == pytest.approx(0.1, abs=0.05)


@pytest.mark.postgres
def test_a_batch_of_thirty_takes_over_five_keys_is_one_statement(postgres_store):
    sent = statements_sent(postgres_store)
    waits = take_each(postgres_store, [(f"public 198.51.100.{n % 5}", 1 / HOUR, 4) for n in range(30)])
    assert len(sent) == 1
    assert waits == [0.0] * 20 + [pytest.approx(HOUR, rel=0.01)] * 10  # four from each key
    postgres_store.take("public 198.51.100.0", 1 / HOUR, 4)
    assert len(sent) == 2 and sent[1] == sent[0]  # a single take is the same statement


@pytest.mark.postgres
def test_batches_from_many_connections_at_once_never_exceed_any_burst(postgres_store):
    keys = [f"crowd {n}" for n in range(5)]

    def batch(n: int) -> list[tuple[str, float]]:  # each batch asks for the keys in an order of its own
        asked = [keys[(n + i * (n % 3 + 1)) % 5] for i in range(8)]
        return list(zip(asked, take_each(postgres_store, [(key, 1 / HOUR, 6) for key in asked]), strict=True))

    with ThreadPoolExecutor(max_workers=4) as pool:
        decided = [pair for pairs in pool.map(batch, range(40)) for pair in pairs]
    assert {key: sum(wait == 0.0 for k, wait in decided if k == key) for key in keys} == dict.fromkeys(keys, 6)


@pytest.mark.postgres
def test_a_batch_gives_each_request_its_own_token_before_any_is_taken_ahead(postgres_store):
    # Three requests on a bucket of five: the first asks for three more ahead. Each request gets its own token
    # first; what is left goes ahead, so taking ahead never refuses a request that one by one would let through.
    assert postgres_store.take_many([("ahead", 1 / HOUR, 5, 4), ("ahead", 1 / HOUR, 5, 1),
                                     ("ahead", 1 / HOUR, 5, 1)]) == [(3, 0.0), (1, 0.0), (1, 0.0)]
    granted, wait = postgres_store.take_many([("ahead", 1 / HOUR, 5, 2)])[0]
    assert granted == 0 and wait == pytest.approx(HOUR, rel=0.01)  # all five were taken


# --- Tokens taken ahead for a busy address (voc.limits.Leases) -------------------------------------------

class Recording:
    """A store that records what each batch asked for and grants from buckets that never refill."""

    name = "recording"

    def __init__(self) -> None:
        self.asked: list[tuple[str, float, float, int]] = []
        self.left: dict[str, float] = {}

    def take_many(self, asked):
        self.asked.extend(asked)
        granted = []
        for key, _rate, burst, n in asked:
            left = self.left.setdefault(key, burst)
            granted.append(min(n, int(left)))
            self.left[key] = left - granted[-1]
        return [(g, 0.0 if g else 60.0) for g in granted]

    def close(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _requests(buckets, clock: Clock, count: int, every: float) -> list[float]:
    """`count` requests from one address, one every `every` seconds (the clock the leases see)."""
    async def one_by_one() -> list[float]:
        waits, start = [], clock.now
        for n in range(count):
            waits.append(await buckets.take_async("203.0.113.5"))
            clock.now = start + (n + 1) * every
        return waits

    return run_async(one_by_one())


def _limits(store, clock: Clock, burst: float):
    limits = Limits(store)
    buckets = limits.buckets("public", per_minute=60, burst=burst)
    buckets.leases.clock = clock
    return limits, buckets


def test_a_quiet_address_is_decided_one_request_at_a_time():
    store, clock = Recording(), Clock()
    limits, buckets = _limits(store, clock, burst=120)
    assert _requests(buckets, clock, 10, every=0.2) == [0.0] * 10
    assert [n for *_, n in store.asked] == [1] * 10  # a token each, none ahead
    limits.close()


def test_a_busy_address_takes_tokens_ahead_and_spends_them_without_asking():
    store, clock = Recording(), Clock()
    limits, buckets = _limits(store, clock, burst=120)
    waits = _requests(buckets, clock, 200, every=0.001)  # a thousand a second
    assert waits[:120] == [0.0] * 120 and all(w > 0 for w in waits[120:])  # the burst, then refused
    asks = [n for *_, n in store.asked]
    assert max(asks) == 12  # at most a tenth of the burst ahead
    # The first 50 ms decided one by one (50), then 11 ahead with each (70 tokens in 6), then one refusal,
    # which holds for its wait: the other 79 refused requests are not asked about.
    assert len(asks) == 50 + 6 + 1
    limits.close()


def test_tokens_held_ahead_are_dropped_after_a_while():
    store, clock = Recording(), Clock()
    limits, buckets = _limits(store, clock, burst=120)
    _requests(buckets, clock, 60, every=0.001)
    before = len(store.asked)
    clock.now += buckets.leases.HOLD_SECONDS
    assert _requests(buckets, clock, 1, every=0.001) == [0.0]
    assert len(store.asked) == before + 1  # the held tokens are gone: asked again
    limits.close()


def test_a_small_burst_is_never_taken_ahead():
    store, clock = Recording(), Clock()
    limits, buckets = _limits(store, clock, burst=19)
    waits = _requests(buckets, clock, 25, every=0.001)
    assert waits[:19] == [0.0] * 19 and waits[19:] == pytest.approx([60 - n / 1000 for n in range(6)])
    assert [n for *_, n in store.asked] == [1] * 20  # then the refusal holds for its minute, without asking
    limits.close()


@pytest.mark.postgres
def test_two_processes_taking_ahead_never_let_more_through_than_the_burst(postgres_url):
    from voc.limits.postgres import PostgresStore

    processes = [Limits(PostgresStore(postgres_url)) for _ in range(2)]
    buckets = [limits.buckets("public", per_minute=1, burst=120) for limits in processes]

    async def crowd() -> list[float]:  # 15 waves of 10 requests from one address to each process at once
        waits = []
        for _ in range(15):
            waits += await asyncio.gather(*[b.take_async("203.0.113.9") for b in buckets for _ in range(10)])
            await asyncio.sleep(0.02)  # (a wave every 20 ms or so: busy enough in each 50 ms to take ahead)
        return waits

    let_through = run_async(crowd()).count(0.0)
    # Never more than the burst (and a token refilled meanwhile); fewer by at most what each holds unspent.
    assert 120 - 2 * 12 <= let_through <= 121
    for limits in processes:
        limits.close()


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
