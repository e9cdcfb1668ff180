"""How urgent a follow-up case is: its priority (score, customer value, age) and its SLA due time.

Priority, in points (higher is more urgent):

    priority = 50 × badness + value points + 2 × days open

- badness (0..1) is the worst of the response's scores, each read as "lower is worse":
  NPS (10 − nps) / 10, CSAT (5 − csat) / 4, CES (7 − ces) / 6; and of a negative comment, −compound
  (VADER). An NPS of 0 is 50 points, a 6 is 20; a CSAT of 1 is 50.
- value points come from the contact's customer-value attribute (VOC_FOLLOWUP_VALUE_ATTRIBUTE, default
  `value`; a number such as lifetime value or annual revenue): 10 × log10(1 + value), at most 30, so each
  order of magnitude adds 10 points (9 → 10, 99 → 20, 999 or more → 30). Missing or not a number: 0.
- age adds 2 points a day, without a cap, so no case waits forever behind fresher, worse ones.

The age term grows at the same rate for every case, so ordering by priority now is ordering by the
priority each case had at a fixed reference moment. That number (`priority_key`) is stored and indexed
when the case opens: the queue sorts a page of 50 out of any number with one index, at any time. Score
and value are read when the case opens; a later change to the contact's attributes does not move it.

SLA: a case is due `followup_sla_hours` after it opened, from its touchpoint (Touchpoint.followup_sla_hours)
or else the workspace default (VOC_FOLLOWUP_SLA_HOURS, 48); an unresolved case past that is overdue."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

SEVERITY_POINTS = 50.0
VALUE_POINTS_PER_DECADE = 10.0
MAX_VALUE_POINTS = 30.0
AGE_POINTS_PER_DAY = 2.0
REFERENCE = datetime(2020, 1, 1, tzinfo=UTC)  # where priority_key counts age from
_SCALES = (("nps", 0, 10), ("csat", 1, 5), ("ces", 1, 7))


def badness(scores: dict[str, int | None], compound: float | None) -> float:
    """How bad the response was, 0..1: the worst of its scores (lower is worse) and of a negative comment."""
    worst = 0.0
    for name, low, high in _SCALES:
        value = scores.get(name)
        if value is not None:
            worst = max(worst, (high - min(max(value, low), high)) / (high - low))
    if compound is not None:
        worst = max(worst, min(max(-compound, 0.0), 1.0))
    return worst


def customer_value(attributes: dict[str, Any] | None, name: str) -> float | None:
    """The contact's customer value: the attribute `name` when it is a finite number ≥ 0 (or its text)."""
    raw = (attributes or {}).get(name)
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        value = float(raw) if isinstance(raw, int | float) else float(str(raw).strip().replace(",", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def value_points(value: float | None) -> float:
    """Points for a customer value: 10 per order of magnitude, at most 30."""
    if value is None:
        return 0.0
    return min(MAX_VALUE_POINTS, VALUE_POINTS_PER_DECADE * math.log10(1 + value))


def _days(since: datetime, until: datetime) -> float:
    return (until - since).total_seconds() / 86400


def priority_key(points: float, opened_at: datetime) -> float:
    """What is stored and sorted on: the priority the case would have had at REFERENCE (see the module)."""
    return points - AGE_POINTS_PER_DAY * _days(REFERENCE, opened_at)


def priority_at(key: float, now: datetime) -> float:
    """A case's priority at `now`, from its stored key."""
    return key + AGE_POINTS_PER_DAY * _days(REFERENCE, now)


def due_at(opened_at: datetime, sla_hours: float) -> datetime:
    """When a case opened at `opened_at` must be resolved."""
    return opened_at + timedelta(hours=sla_hours)
