"""Reporting periods shared by the dashboard and the domain queries behind it."""

from __future__ import annotations

from datetime import datetime, timedelta

from voc.db import utcnow

PERIODS = {"7d": 7, "30d": 30, "90d": 90, "365d": 365}
DEFAULT_PERIOD = "90d"


def period_bounds(period: str | None, now: datetime | None = None) -> tuple[str, datetime, datetime]:
    """The chosen period (default 90 days) as (key, start, end), ending now."""
    key = period if period in PERIODS else DEFAULT_PERIOD
    end = now or utcnow()
    return key, end - timedelta(days=PERIODS[key]), end
