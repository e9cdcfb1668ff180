"""The priority formula and the SLA: pure functions, with a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from voc.followups.priority import (
    badness,
    customer_value,
    due_at,
    priority_at,
    priority_key,
    value_points,
)

OPENED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_lower_scores_are_worse_on_every_scale():
    assert badness({"nps": 0}, None) == 1.0
    assert badness({"nps": 6}, None) == pytest.approx(0.4)
    assert badness({"csat": 1}, None) == 1.0 and badness({"csat": 2}, None) == 0.75
    assert badness({"ces": 1}, None) == 1.0
    assert badness({"nps": 9, "csat": 1}, None) == 1.0  # the worst score counts
    assert badness({}, -0.8) == pytest.approx(0.8)  # a negative comment alone
    assert badness({"nps": 99}, None) == 0.0  # out of range is clamped, never negative


def test_the_customer_value_attribute():
    assert customer_value({"value": 1200}, "value") == 1200
    assert customer_value({"ltv": "1,500.50"}, "ltv") == 1500.5
    for odd in ({"value": True}, {"value": "gold"}, {"value": -5}, {"value": float("nan")}, {}, None):
        assert customer_value(odd, "value") is None
    assert value_points(None) == 0 and value_points(9) == pytest.approx(10)
    assert value_points(99) == pytest.approx(20) and value_points(10**9) == 30


def test_priority_grows_two_points_a_day_and_the_stored_key_keeps_the_order():
    key = priority_key(50, OPENED)
    assert priority_at(key, OPENED) == pytest.approx(50)
    assert priority_at(key, OPENED + timedelta(days=3)) == pytest.approx(56)
    # A milder case opened ten days earlier overtakes a fresh severe one: the keys say so at any time.
    old_mild, fresh_severe = priority_key(30, OPENED - timedelta(days=10)), priority_key(45, OPENED)
    assert old_mild > fresh_severe
    for later in (0, 1, 100):
        now = OPENED + timedelta(days=later)
        assert priority_at(old_mild, now) > priority_at(fresh_severe, now)


def test_due_time_is_opening_plus_the_sla():
    assert due_at(OPENED, 4) == OPENED + timedelta(hours=4)
