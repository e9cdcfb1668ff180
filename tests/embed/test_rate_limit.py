"""The public decision endpoint is rate limited per visitor address and per site, before the database is
touched: a script that forges the Origin cannot make a site create contacts without end."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from tests.embed.conftest import ORIGIN
from voc.config import get_settings
from voc.limits.memory import TokenBuckets, retry_after
from voc.surveys.models import Contact


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_buckets_allow_a_burst_then_the_rate_and_keep_keys_apart():
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(1.0)  # one token a second
    assert buckets.take("b") == 0.0  # another visitor has a bucket of its own
    clock.now += 0.5
    assert buckets.take("a") == pytest.approx(0.5)  # refused tries cost nothing
    clock.now += 0.5
    assert buckets.take("a") == 0.0
    clock.now += 3600
    assert [buckets.take("a") for _ in range(4)][-1] > 0  # a long pause refills up to the burst only
    assert retry_after(0.2) == "1" and retry_after(1.5) == "2"


def test_buckets_forget_the_least_recently_seen_keys_beyond_their_bound():
    buckets = TokenBuckets(per_minute=1, burst=1, max_keys=2, clock=Clock())
    assert buckets.take("a") == 0.0 and buckets.take("b") == 0.0 and buckets.take("c") == 0.0
    assert len(buckets._buckets) == 2 and buckets.take("a") == 0.0  # "a" was forgotten: a full bucket


def test_too_many_decisions_from_one_address_get_429_and_store_nothing(engine, site, embed_survey, ask,
                                                                       monkeypatch):
    monkeypatch.setenv("VOC_EMBED_DECISIONS_PER_MINUTE", "2")  # bursts of one
    get_settings.cache_clear()
    embed_survey(anonymous=True)
    assert ask(survey="widget").status_code == 200
    refused = ask(survey="widget")
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["retry-after"]) >= 1
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 1  # only the first visitor
    assert ask(survey="widget", origin=ORIGIN).status_code == 429  # the Origin changes nothing


def test_a_site_has_a_ceiling_over_all_its_visitors(site, embed_survey, ask, monkeypatch):
    monkeypatch.setenv("VOC_EMBED_SITE_DECISIONS_PER_MINUTE", "1")
    get_settings.cache_clear()
    embed_survey(anonymous=True)
    assert ask(survey="widget").status_code == 200
    assert ask(survey="widget").json()["error"]["code"] == "rate_limited"
