"""voc.periods: a period is whole days in the workspace time zone, today included; its bounds are the UTC
instants of those local midnights, and every moment inside falls on one of its days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from voc.config import Settings, get_settings
from voc.periods import explicit_or_period, local_day, period_bounds


@pytest.fixture
def zone(monkeypatch):
    def use(name: str) -> None:
        monkeypatch.setenv("VOC_TIME_ZONE", name)
        get_settings.cache_clear()
    return use


def test_utc_whole_days_today_included(zone):
    zone("UTC")
    bounds = period_bounds("7d", now=datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    assert (bounds.first_day, bounds.last_day, bounds.days) == (date(2026, 11, 24), date(2026, 11, 30), 7)
    assert bounds.start == datetime(2026, 11, 24, tzinfo=UTC) and bounds.end == datetime(2026, 12, 1, tzinfo=UTC)
    assert bounds.label == "24 Nov 2026 00:00 – 30 Nov 2026 24:00 UTC"


def test_the_period_is_local_days_in_the_workspace_zone(zone):
    zone("Europe/Berlin")
    # 23:30 UTC on 30 Nov is 00:30 on 1 Dec in Berlin: that is "today" there.
    bounds = period_bounds("30d", now=datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
    assert (bounds.first_day, bounds.last_day) == (date(2026, 11, 2), date(2026, 12, 1))
    assert bounds.start == datetime(2026, 11, 1, 23, 0, tzinfo=UTC)
    assert bounds.end == datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
    assert bounds.label == "2 Nov 2026 00:00 – 1 Dec 2026 24:00 Europe/Berlin"


def test_a_period_across_a_daylight_saving_change_keeps_whole_local_days(zone):
    zone("America/New_York")  # clocks go back on 1 Nov 2026: that day has 25 hours
    bounds = period_bounds("7d", now=datetime(2026, 11, 3, 17, 0, tzinfo=UTC))
    assert bounds.start == datetime(2026, 10, 28, 4, 0, tzinfo=UTC)  # midnight EDT (−4)
    assert bounds.end == datetime(2026, 11, 4, 5, 0, tzinfo=UTC)  # midnight EST (−5)
    assert bounds.end - bounds.start == timedelta(days=7, hours=1)
    for moment, day in ((bounds.start, bounds.first_day), (bounds.end - timedelta(microseconds=1), bounds.last_day),
                        (bounds.start - timedelta(microseconds=1), bounds.first_day - timedelta(days=1)),
                        (bounds.end, bounds.last_day + timedelta(days=1))):
        assert local_day(moment) == day


def test_the_previous_period_ends_where_this_one_starts(zone):
    zone("Europe/Berlin")  # summer time ends on 25 Oct 2026, inside the previous 30 days
    bounds = period_bounds("30d", now=datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    before = bounds.previous()
    assert before.end == bounds.start and before.days == 30 and before.last_day == bounds.first_day - timedelta(days=1)
    assert before.start == datetime(2026, 10, 1, 22, 0, tzinfo=UTC)  # midnight CEST (+2)


def test_unknown_periods_fall_back_to_90_days_and_explicit_bounds_are_kept(zone):
    zone("UTC")
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert period_bounds("1000y", now=now).key == "90d" and period_bounds(None, now=now).days == 90
    since = datetime(2026, 1, 1, 8, 30, tzinfo=UTC)
    assert explicit_or_period(since, None, "7d", now=now) == (since, None)
    bounds = period_bounds("7d", now=now)
    assert explicit_or_period(None, None, "7d", now=now) == (bounds.start, bounds.end)


def test_a_naive_moment_is_read_as_utc(zone):
    zone("Asia/Kolkata")  # +05:30
    assert local_day(datetime(2026, 11, 30, 18, 29)) == date(2026, 11, 30)
    assert local_day(datetime(2026, 11, 30, 18, 30)) == date(2026, 12, 1)


def test_an_unknown_time_zone_is_refused_at_start():
    with pytest.raises(ValidationError, match="VOC_TIME_ZONE"):
        Settings(time_zone="Mars/Olympus_Mons")
    with pytest.raises(ValidationError, match="VOC_TIME_ZONE"):
        Settings(time_zone="../../etc/passwd")
