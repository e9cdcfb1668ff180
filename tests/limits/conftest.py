"""The shared limit stores under test: PostgreSQL (VOC_TEST_POSTGRES_URL) and Redis (VOC_TEST_REDIS_URL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import skip_or_fail

REDIS_URL = os.environ.get("VOC_TEST_REDIS_URL")


def redis_url() -> str:
    """VOC_TEST_REDIS_URL, once it answers; else the test skips (fails under CI=true)."""
    if not REDIS_URL:
        skip_or_fail("Redis tests need VOC_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15)")
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        skip_or_fail(f"Redis at VOC_TEST_REDIS_URL={REDIS_URL} does not answer: {exc}")
    return REDIS_URL


@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.postgres), "redis"])
def store(request: pytest.FixtureRequest) -> Iterator:
    """Each shared store, empty: PostgreSQL's rate_limit table, or keys under a prefix of this test's own."""
    if request.param == "postgresql":
        from voc.limits.postgres import PostgresStore

        store = PostgresStore(request.getfixturevalue("postgres_url"))
    else:
        from voc.limits.redis_store import RedisStore

        store = RedisStore(redis_url(), prefix=f"voc-test:{uuid.uuid4().hex[:8]}:")
    yield store
    if request.param == "redis":
        for key in store.client.scan_iter(f"{store.prefix}*"):
            store.client.delete(key)
    store.close()
