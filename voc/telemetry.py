"""Counters and histograms kept in the process, and their Prometheus text for /metrics.

A small module of ours rather than prometheus_client (not a dependency): voc needs counters and
histograms with labels and the text format, nothing more, and prometheus_client's multi-process mode
(files in a shared directory, cleaned up per dead process) would still miss `voc worker` processes on
other hosts. So each process keeps its own figures since it started and is scraped on its own: `voc serve`
at /metrics, `voc worker --metrics-port N` likewise; Prometheus labels each target by instance and the
dashboards sum over them (README, Metrics). Updating a figure takes a lock and a few additions, no I/O.

Every metric voc keeps is declared here, so the names the Grafana dashboard (docs/grafana/voc.json)
reads are in one place."""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Iterable

from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession

_METRICS: list[Counter | Histogram] = []


def _labels(names: tuple[str, ...], values: tuple[str, ...]) -> str:
    if not names:
        return ""
    pairs = ",".join(f'{name}="{_escape(value)}"' for name, value in zip(names, values, strict=True))
    return "{" + pairs + "}"


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if value == math.inf:
        return "+Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class Counter:
    """A count that only goes up, per combination of label values."""

    kind = "counter"

    def __init__(self, name: str, help_text: str, labels: Iterable[str] = ()) -> None:
        self.name, self.help, self.label_names = name, help_text, tuple(labels)
        self._values: dict[tuple[str, ...], float] = {}
        self._lock = threading.Lock()
        _METRICS.append(self)

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        """Add `amount` for these label values (in the order the labels were declared)."""
        with self._lock:
            self._values[labels] = self._values.get(labels, 0.0) + amount

    def value(self, *labels: str) -> float:
        """The count for these label values (0 when never counted)."""
        return self._values.get(labels, 0.0)

    def exposition(self) -> list[str]:
        with self._lock:
            values = sorted(self._values.items())
        if not values and not self.label_names:
            values = [((), 0.0)]
        return [f"{self.name}{_labels(self.label_names, key)} {_number(value)}" for key, value in values]


# Seconds: from a fast page (a few ms) to a slow webhook receiver (the default timeout is 10 s).
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Histogram:
    """Observed values counted into buckets (cumulative in the exposition), with their sum and count."""

    kind = "histogram"

    def __init__(self, name: str, help_text: str, labels: Iterable[str] = (),
                 buckets: tuple[float, ...] = DEFAULT_BUCKETS) -> None:
        self.name, self.help, self.label_names = name, help_text, tuple(labels)
        self.bounds = tuple(sorted(buckets))
        self._series: dict[tuple[str, ...], list[float]] = {}  # per bucket (not cumulative), +Inf, sum
        self._lock = threading.Lock()
        _METRICS.append(self)

    def observe(self, value: float, *labels: str) -> None:
        """Count one observation for these label values."""
        slot = bisect.bisect_left(self.bounds, value)
        with self._lock:
            series = self._series.get(labels)
            if series is None:
                series = self._series[labels] = [0.0] * (len(self.bounds) + 2)
            series[slot] += 1
            series[-1] += value

    def count(self, *labels: str) -> int:
        """How many values were observed for these label values."""
        series = self._series.get(labels)
        return int(sum(series[:-1])) if series else 0

    def exposition(self) -> list[str]:
        with self._lock:
            snapshot = sorted((key, list(series)) for key, series in self._series.items())
        lines = []
        for key, series in snapshot:
            running = 0.0
            for bound, count in zip((*self.bounds, math.inf), series[:-1], strict=True):
                running += count
                label_text = _labels((*self.label_names, "le"), (*key, _number(bound)))
                lines.append(f"{self.name}_bucket{label_text} {_number(running)}")
            lines.append(f"{self.name}_sum{_labels(self.label_names, key)} {series[-1]!r}")
            lines.append(f"{self.name}_count{_labels(self.label_names, key)} {_number(running)}")
        return lines


def exposition() -> list[str]:
    """Prometheus text lines of every kept metric, HELP and TYPE included."""
    lines = []
    for metric in _METRICS:
        lines += [f"# HELP {metric.name} {metric.help}", f"# TYPE {metric.name} {metric.kind}",
                  *metric.exposition()]
    return lines


def gauge_lines(name: str, help_text: str, label_names: tuple[str, ...],
                rows: Iterable[tuple[tuple[str, ...], float]]) -> list[str]:
    """Prometheus text lines of a gauge read at scrape time (not kept here)."""
    return [f"# HELP {name} {help_text}", f"# TYPE {name} gauge",
            *(f"{name}{_labels(label_names, labels)} {_number(value)}" for labels, value in rows)]


# --- counted when a transaction commits -------------------------------------------------------------------

_PENDING = "voc_telemetry_pending"


def count_on_commit(session: OrmSession, counter: Counter, *labels: str) -> None:
    """Count one for `counter` once the session's transaction commits (nothing if it rolls back): no SQL."""
    pending: list[tuple[Counter, tuple[str, ...]]] = session.info.setdefault(_PENDING, [])
    pending.append((counter, labels))


@event.listens_for(OrmSession, "after_commit")
def _count_committed(session: OrmSession) -> None:
    pending = session.info.pop(_PENDING, None)
    for counter, labels in pending or ():
        counter.inc(*labels)


@event.listens_for(OrmSession, "after_rollback")
def _forget_rolled_back(session: OrmSession) -> None:
    session.info.pop(_PENDING, None)


# --- what voc keeps --------------------------------------------------------------------------------------

REQUEST_SECONDS = Histogram(
    "voc_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by method, route template and status class.",
    ("method", "route", "status_class"))
RESPONSES_ACCEPTED = Counter(
    "voc_responses_total", "Completed responses (answers) accepted by this process since it started.")
WEBHOOK_ATTEMPTS = Counter(
    "voc_webhook_attempts_total", "Webhook delivery attempts made by this process, by endpoint id.", ("endpoint",))
WEBHOOK_FAILURES = Counter(
    "voc_webhook_failures_total", "Webhook delivery attempts that did not deliver (any answer but success, or "
    "no answer), by endpoint id.", ("endpoint",))
WEBHOOK_SECONDS = Histogram(
    "voc_webhook_request_duration_seconds", "Time a webhook receiver took to answer (or to fail), by endpoint id.",
    ("endpoint",))
ANALYSER_SECONDS = Histogram(
    "voc_analyser_seconds", "Time the analyser took to read one comment (sentiment, dimensions, themes).",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0))
RATE_LIMITED = Counter(
    "voc_rate_limited_total", "Requests refused by a rate limit or the sign-in throttle, by limit.", ("limit",))
LIMIT_STORE_ERRORS = Counter(
    "voc_limit_store_errors_total", "Calls to the shared limit store (PostgreSQL or Redis) that failed; the "
    "process then decides with its own limits for a few seconds.", ("store",))
