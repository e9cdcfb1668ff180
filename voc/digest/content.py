"""What the weekly digest says: the overview's figures for the last whole week against the week before (computed
by the overview's own functions), the top key drivers and the follow-up queue, written out once as text so the
HTML and the plain-text parts say exactly the same."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from sqlmodel import Session

from voc.analytics import service
from voc.analytics.comparisons import Difference
from voc.analytics.key_drivers import DriverPanel, key_drivers
from voc.auth.models import User
from voc.config import get_settings
from voc.db import utcnow
from voc.errors import Invalid
from voc.followups.queue import QueueFilters, count_cases
from voc.periods import Period, day_start, local_day, period_bounds

TOP_DRIVERS = 3
LABELS = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}


@dataclass(frozen=True)
class DigestWeek:
    """An ISO week (Monday to Sunday, whole workspace days) that a digest covers; `key` is "2026-W48"."""

    key: str
    period: Period

    @property
    def title(self) -> str:
        """ "Week 48, 23–29 Nov 2026" (the two ends in their own months and years when they differ)."""
        first, last = self.period.first_day, self.period.last_day
        start = f"{first.day}" if (first.month, first.year) == (last.month, last.year) else \
            f"{first.day} {first:%b}" if first.year == last.year else f"{first.day} {first:%b %Y}"
        return f"Week {first.isocalendar().week}, {start}–{last.day} {last:%b %Y}"


def _week_of_monday(monday: date) -> DigestWeek:
    sunday = monday + timedelta(days=6)
    # The overview's "last 7 days" as seen on that Sunday: the same whole days, bounds and time zone.
    period = period_bounds("7d", now=day_start(sunday))
    year, week, _ = monday.isocalendar()
    return DigestWeek(f"{year}-W{week:02d}", period)


def last_whole_week(now: datetime | None = None) -> DigestWeek:
    """The last ISO week that has ended by `now` in the workspace time zone (the one a digest sent now covers)."""
    today = local_day(now or utcnow())
    return _week_of_monday(today - timedelta(days=today.weekday() + 7))


def parse_week(text: str) -> DigestWeek:
    """A week written as "2026-W48"; refused (`invalid_week`) when it is not one."""
    try:
        year, week = text.strip().upper().split("-W")
        return _week_of_monday(date.fromisocalendar(int(year), int(week), 1))
    except ValueError:
        raise Invalid(f"{text!r} is not an ISO week such as 2026-W48", code="invalid_week") from None


@dataclass(frozen=True)
class Figure:
    """One headline measure as the overview card shows it, in words."""

    label: str
    value: str | None  # None: no answers this week
    interval: str | None  # "95% interval +3 to +21"
    n: int
    small_sample: bool
    previous: str | None  # the week before's value
    change: str  # the change against the week before, with its interval and verdict, or why there is none
    significant: bool


@dataclass(frozen=True)
class DriverLine:
    """One driver that lowers the measure for certain, with a link to its answers."""

    label: str
    kind: str
    effect: str
    interval: str
    reach: str
    impact: str
    url: str


@dataclass(frozen=True)
class Drivers:
    """The top drivers of the week's measure, or `note` saying why there are none."""

    measure: str
    n: int
    lines: list[DriverLine]
    note: str | None


@dataclass(frozen=True)
class Followups:
    """The follow-up queue when the digest is written (not only the week's cases)."""

    unresolved: int
    overdue: int
    yours: int


@dataclass(frozen=True)
class Digest:
    """Everything one recipient's digest shows."""

    week: DigestWeek
    responses: int
    responses_before: int
    invitations: int
    response_rate: str | None
    figures: list[Figure]
    drivers: Drivers | None
    followups: Followups
    links: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """No response was completed in the week."""
        return self.responses == 0


def dashboard_url(path: str, **params: str) -> str:
    """An absolute link into the dashboard, from the public base URL (VOC_BASE_URL)."""
    base = get_settings().base_url.rstrip("/")
    return f"{base}{path}?{urlencode(params)}" if params else f"{base}{path}"


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def change_text(name: str, change: Difference) -> str:
    """The change against the week before as the overview card writes it."""
    if change.delta is None:
        return f"vs the week before: {change.reason}"
    diff = "{:+.2f}" if name == "ces" else "{:+.1f}"
    unit = "" if name == "ces" else " points"
    if change.reason:
        return f"vs the week before: {diff.format(change.delta)}{unit}; {change.reason}"
    verdict = ("significant (the interval excludes 0)" if change.significant
               else "not significant (the interval includes 0)")
    return (f"vs the week before: {diff.format(change.delta)}{unit} (95% interval {diff.format(change.low)} to "
            f"{diff.format(change.high)}), {verdict}")


def _figures(cards: list[dict]) -> list[Figure]:
    """The overview's cards in words: only measures answered in this week or the one before."""
    figures = []
    for card in cards:
        metric, previous, fmt = card["metric"], card["previous"], card["fmt"]
        if not metric.n and not previous.n:
            continue
        interval = None
        if metric.ci_low is not None:
            interval = f"95% interval {fmt(metric.ci_low)} to {fmt(metric.ci_high)}"
        elif metric.n:
            interval = "95% interval not available"
        figures.append(Figure(card["label"], fmt(metric.value) if metric.n else None, interval, metric.n,
                              bool(metric.n) and metric.small_sample,
                              fmt(previous.value) if previous.n else None, change_text(card["name"], card["change"]),
                              card["change"].significant))
    return figures


def _drivers(panel: DriverPanel) -> Drivers:
    m = panel.measure
    if panel.too_few:
        note = f"Too few answers to tell what moves {m.label}: {panel.n} this week, at least 30 needed."
        return Drivers(m.label, panel.n, [], note)
    lines = [DriverLine(r.label, r.kind_label.lower(), m.fmt(r.estimate.effect),
                        f"95% interval {m.fmt(r.estimate.low)} to {m.fmt(r.estimate.high)}",
                        f"{100 * r.estimate.reach:.0f}%", m.fmt(r.estimate.impact),
                        dashboard_url("/dashboard/responses", **r.params))
             for r in panel.fix_first[:TOP_DRIVERS]]
    note = None if lines else (f"Nothing lowers {m.label} for certain: every driver's 95% interval includes no "
                               "effect or a gain.")
    return Drivers(m.label, panel.n, lines, note)


def build_digest(session: Session, week: DigestWeek, recipient: User | None = None,
                 now: datetime | None = None) -> Digest:
    """The digest of `week` for `recipient` (None: an address that is no user; nothing is "yours")."""
    now = now or utcnow()
    filters = service.Filters(None, None, week.period)
    overview = service.overview(session, filters)
    before = service.overview(session, service.Filters(None, None, week.period.previous()))
    responses, invitations = overview["responses"], overview["invitations"]
    anyone = recipient or User(id=0, email="", password_hash="")  # the workspace's counts read no user
    queue = count_cases(session, QueueFilters(), anyone, now)
    yours = count_cases(session, QueueFilters(assignee="me"), recipient, now).unresolved if recipient else 0
    links = {"overview": dashboard_url("/dashboard", period="7d"),
             "responses": dashboard_url("/dashboard/responses", period="7d"),
             "followups": dashboard_url("/dashboard/followups"),
             "overdue": dashboard_url("/dashboard/followups", overdue="1", sort="due"),
             "yours": dashboard_url("/dashboard/followups", assignee="me"),
             "settings": dashboard_url("/dashboard/settings/users")}
    rate = overview["response_rate"]
    figures = _figures(overview["cards"])
    scored = any(figure.n for figure in figures)  # drivers explain a score: none without one answered
    return Digest(week, responses, before["responses"], invitations,
                  f"{100 * rate:.1f}%" if rate is not None else None, figures,
                  _drivers(key_drivers(session, filters)) if scored else None,
                  Followups(queue.unresolved, queue.overdue, yours), links)
