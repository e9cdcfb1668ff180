"""Trigger rules: conditions on attributes and a stable sample per contact and survey."""

from __future__ import annotations

import hashlib
from typing import Any

_MISSING = object()


def lookup(attribute: str, event_attrs: dict[str, Any], contact_attrs: dict[str, Any]) -> Any:
    """An attribute by name: `event.x` or `contact.x` explicitly, else the event's then the contact's."""
    scope, _, name = attribute.partition(".")
    if name and scope == "event":
        return event_attrs.get(name, _MISSING)
    if name and scope == "contact":
        return contact_attrs.get(name, _MISSING)
    if attribute in event_attrs:
        return event_attrs[attribute]
    return contact_attrs.get(attribute, _MISSING)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def check_condition(actual: Any, op: str, expected: Any) -> bool:
    """Whether `actual op expected` holds; a missing attribute fails every op but `ne`."""
    if op == "exists":
        present = actual is not _MISSING and actual is not None
        return present if expected is None else present == bool(expected)
    if actual is _MISSING:
        return op == "ne"
    if op == "eq":
        return actual == expected or (_number(actual) is not None and _number(actual) == _number(expected))
    if op == "ne":
        return not check_condition(actual, "eq", expected)
    if op in ("gt", "gte", "lt", "lte"):
        left, right = _number(actual), _number(expected)
        if left is None or right is None:
            if isinstance(actual, str) and isinstance(expected, str):  # ISO dates compare as text
                left, right = actual, expected  # type: ignore[assignment]
            else:
                return False
        return {"gt": left > right, "gte": left >= right, "lt": left < right, "lte": left <= right}[op]
    if op == "in":
        return isinstance(expected, list) and any(check_condition(actual, "eq", item) for item in expected)
    if op == "contains":
        if isinstance(actual, str):
            return isinstance(expected, str) and expected.lower() in actual.lower()
        if isinstance(actual, list):
            return expected in actual
        return False
    return False


def conditions_hold(conditions: list[dict[str, Any]], event_attrs: dict[str, Any],
                    contact_attrs: dict[str, Any]) -> bool:
    """All conditions hold (an empty list always does)."""
    return all(
        check_condition(lookup(c["attribute"], event_attrs, contact_attrs), c.get("op", "eq"), c.get("value"))
        for c in conditions
    )


def sample_position(contact_key: str, survey_key: str) -> float:
    """A stable number in [0, 1) per contact and survey: the same customer is always in or out."""
    digest = hashlib.sha256(f"{survey_key}\x00{contact_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def in_sample(contact_key: str, survey_key: str, sample_rate: float) -> bool:
    """Whether the contact falls inside the survey's sample."""
    return sample_position(contact_key, survey_key) < sample_rate


def contact_sample_key(crm: str, external_id: str) -> str:
    """The key a contact is sampled by, the same for touchpoint events and the embed widget."""
    return f"{crm}:{external_id}"
