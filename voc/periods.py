"""Reporting periods: the one definition of a period's bounds, shared by every dashboard page, the response
explorer and its CSV, the rollups' days and the API's default period.

A period is whole days in the workspace time zone (VOC_TIME_ZONE, UTC by default), today included: "Last 90
days" runs from 00:00 of the day 89 days ago to 24:00 today, local time. Its bounds are the UTC instants of
those two local midnights, so a query on raw timestamps (completed_at >= start and < end) and a sum of the
rollups' days (first_day .. last_day, each the local day of the moment it counts) hold the same responses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from voc.config import get_settings
from voc.db import utcnow

PERIODS = {"7d": 7, "30d": 30, "90d": 90, "365d": 365}
DEFAULT_PERIOD = "90d"


def workspace_zone() -> tzinfo:
    """The workspace's time zone (VOC_TIME_ZONE, an IANA name; UTC needs no time zone database)."""
    name = get_settings().time_zone
    return UTC if name == "UTC" else ZoneInfo(name)


def local_day(moment: datetime, zone: tzinfo | None = None) -> date:
    """The workspace day a moment falls on (a naive moment is read as UTC, as SQLite stores them)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone or workspace_zone()).date()


def day_start(day: date, zone: tzinfo | None = None) -> datetime:
    """The UTC instant a workspace day begins: its local midnight (on a DST gap, the first local moment)."""
    return datetime.combine(day, time(), zone or workspace_zone()).astimezone(UTC)


def local_time(moment: datetime) -> datetime:
    """A moment on the workspace's clock (for showing it next to the zone's name)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(workspace_zone())


def _day_text(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


@dataclass(frozen=True)
class Period:
    """Whole days first_day..last_day in a time zone, as UTC bounds [start, end)."""

    key: str
    days: int
    first_day: date
    last_day: date
    start: datetime
    end: datetime
    zone: str

    @property
    def label(self) -> str:
        """The exact bounds as a reader sees them: "2 Sep 2026 00:00 – 30 Nov 2026 24:00 UTC"."""
        return f"{_day_text(self.first_day)} 00:00 – {_day_text(self.last_day)} 24:00 {self.zone}"

    def previous(self) -> Period:
        """The same number of whole days just before."""
        return _period(self.key, self.first_day - timedelta(days=self.days), self.first_day - timedelta(days=1))


def _period(key: str, first_day: date, last_day: date) -> Period:
    zone = workspace_zone()
    return Period(key, (last_day - first_day).days + 1, first_day, last_day, day_start(first_day, zone),
                  day_start(last_day + timedelta(days=1), zone), get_settings().time_zone)


def period_bounds(period: str | None, now: datetime | None = None) -> Period:
    """The chosen period (default 90 days): whole days in the workspace time zone, the last one today."""
    key = period if period in PERIODS else DEFAULT_PERIOD
    last_day = local_day(now or utcnow())
    return _period(key, last_day - timedelta(days=PERIODS[key] - 1), last_day)


def explicit_or_period(since: datetime | None, until: datetime | None, period: str | None = None,
                       now: datetime | None = None) -> tuple[datetime | None, datetime | None]:
    """Bounds given explicitly (either may be open) are kept; none given: the period's whole-day bounds."""
    if since is not None or until is not None:
        return since, until
    bounds = period_bounds(period, now)
    return bounds.start, bounds.end
