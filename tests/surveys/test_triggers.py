"""Trigger conditions and the stable sample."""

from __future__ import annotations

import pytest

from voc.surveys.triggers import conditions_hold, in_sample, sample_position


@pytest.mark.parametrize(("op", "value", "expected"), [
    ("eq", 120, True), ("eq", "120", True), ("ne", 120, False), ("gt", 100, True), ("gte", 120, True),
    ("lt", 120, False), ("lte", 120, True), ("in", [1, 120], True), ("in", [1, 2], False),
    ("exists", None, True), ("gt", "abc", False),
])
def test_numeric_conditions(op, value, expected):
    assert conditions_hold([{"attribute": "order_value", "op": op, "value": value}], {"order_value": 120}, {}) \
        is expected


def test_contains_is_case_insensitive_on_text_and_exact_on_lists():
    event = {"note": "Delivered to NEIGHBOUR", "tags": ["vip", "b2b"]}
    assert conditions_hold([{"attribute": "note", "op": "contains", "value": "neighbour"}], event, {})
    assert conditions_hold([{"attribute": "tags", "op": "contains", "value": "vip"}], event, {})
    assert not conditions_hold([{"attribute": "tags", "op": "contains", "value": "vi"}], event, {})


def test_event_attributes_win_and_scopes_can_be_named():
    event, contact = {"tier": "gold"}, {"tier": "silver", "country": "DE"}
    assert conditions_hold([{"attribute": "tier", "value": "gold"}], event, contact)
    assert conditions_hold([{"attribute": "contact.tier", "value": "silver"}], event, contact)
    assert conditions_hold([{"attribute": "country", "op": "in", "value": ["DE", "AT"]}], event, contact)


def test_a_missing_attribute_fails_all_but_ne_and_not_exists():
    assert not conditions_hold([{"attribute": "x", "op": "eq", "value": None}], {}, {})
    assert not conditions_hold([{"attribute": "x", "op": "lt", "value": 5}], {}, {})
    assert conditions_hold([{"attribute": "x", "op": "ne", "value": 5}], {}, {})
    assert conditions_hold([{"attribute": "x", "op": "exists", "value": False}], {}, {})


def test_sample_is_stable_per_contact_and_survey_and_near_the_rate():
    assert in_sample("crm:1", "nps", 0.3) == in_sample("crm:1", "nps", 0.3)
    inside = sum(in_sample(f"crm:{i}", "nps", 0.3) for i in range(10_000))
    assert 2_800 < inside < 3_200
    # Another survey samples other people.
    assert [sample_position(f"crm:{i}", "a") < 0.5 for i in range(50)] != \
        [sample_position(f"crm:{i}", "b") < 0.5 for i in range(50)]
    assert not in_sample("crm:1", "nps", 0.0) and in_sample("crm:1", "nps", 1.0)
