"""Geometry for the server-rendered SVG charts: numbers and paths only, the templates draw (and escape) them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

# (value, interval low, interval high, n) of one point; value None leaves a gap.
Value = tuple[float | None, float | None, float | None, int]

# PuOr, ColorBrewer's diverging palette that stays readable with the common colour-vision deficiencies.
_NEGATIVE, _MIDDLE, _POSITIVE = (179, 88, 6), (247, 247, 247), (84, 39, 136)


@dataclass
class Point:
    x: float
    y: float
    label: str
    value: float
    n: int
    text: str  # for the point's <title>
    shown: str  # the value and its interval
    y_low: float | None = None  # the interval's ends, drawn as a whisker
    y_high: float | None = None
    small: bool = False  # fewer answers than the small-sample threshold: drawn hollow, flagged
    href: str | None = None


@dataclass
class Series:
    name: str
    css: str
    points: list[Point]
    path: str
    band: str
    joined: bool = True  # a line through the points (with a band); else points with interval whiskers


@dataclass
class Tick:
    at: float
    text: str


@dataclass
class LineChart:
    width: int
    height: int
    left: int
    top: int
    right: int
    bottom: int
    series: list[Series]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    zero: float | None = None
    empty: bool = field(default=False)


def line_chart(labels: Sequence[str], series: Sequence[tuple[str, str, Sequence[Value]]], *, y_min: float,
               y_max: float, fmt: Callable[[float], str] = "{:+.0f}".format, width: int = 720,
               height: int = 240, ticks: int = 5, joined: bool = True, hrefs: Sequence[str | None] | None = None,
               small_sample: int = 0, bottom_margin: int = 28, tick_fmt: Callable[[float], str] | None = None,
               max_labels: int = 8) -> LineChart:
    """Lines (with their 95% bands) over labelled positions, scaled into a width × height box.

    Not `joined`: each point stands alone with its interval as a whisker (values of separate things, such as
    touchpoints, that no line should suggest are continuous). Points with n below `small_sample` are flagged."""
    left, right, top, bottom = 48, width - 12, 12, height - bottom_margin
    count = max(len(labels), 1)

    def x_at(index: int) -> float:
        return round(left + (right - left) * (index + 0.5) / count, 1)

    def y_at(value: float) -> float:
        value = min(max(value, y_min), y_max)
        return round(bottom - (bottom - top) * (value - y_min) / (y_max - y_min), 1)

    drawn: list[Series] = []
    for name, css, values in series:
        points, path, upper, lower = [], [], [], []
        for index, (value, low, high, n) in enumerate(values):
            if value is None:
                continue
            x, y = x_at(index), y_at(value)
            has_interval = low is not None and high is not None
            interval = f" (95% interval {fmt(low)} to {fmt(high)})" if has_interval else ""
            shown = f"{fmt(value)}{interval}"
            small = n < small_sample
            flag = f", small sample (n < {small_sample})" if small else ""
            points.append(Point(x, y, labels[index], value, n, f"{labels[index]}: {name} {shown}, n={n}{flag}", shown,
                                y_at(low) if has_interval else None, y_at(high) if has_interval else None, small,
                                hrefs[index] if hrefs else None))
            path.append(f"{'L' if path else 'M'}{x},{y}")
            if has_interval:
                upper.append(f"{x},{y_at(high)}")
                lower.append(f"{x},{y_at(low)}")
        band = f"M{' L'.join(upper)} L{' L'.join(reversed(lower))} Z" if joined and len(upper) > 1 else ""
        drawn.append(Series(name, css, points, " ".join(path) if joined else "", band, joined))
    step = (y_max - y_min) / (ticks - 1)
    y_ticks = [Tick(y_at(y_min + i * step), (tick_fmt or fmt)(y_min + i * step)) for i in range(ticks)]
    every = max(1, count // max_labels)
    x_ticks = [Tick(x_at(i), label) for i, label in enumerate(labels) if i % every == 0]
    zero = y_at(0.0) if y_min < 0 < y_max else None
    return LineChart(width, height, left, top, right, bottom, drawn, y_ticks, x_ticks, zero,
                     empty=not any(s.points for s in drawn))


@dataclass
class Bar:
    label: str
    count: int
    share: float  # of n, 0..1
    low: float  # Wilson 95% interval of the share
    high: float
    width: float  # the bar's length, of `scale`
    x_low: float  # the whisker's ends
    x_high: float
    text: str  # for the bar's <title>
    params: dict[str, str] = field(default_factory=dict)  # the explorer's filter for exactly these answers


def share_bars(rows: Sequence[tuple[str, int, float, float, float, dict[str, str]]], n: int, scale: int = 240
               ) -> list[Bar]:
    """Horizontal bars of shares (0..1) with their 95% intervals, each on its own 0–100% scale of `scale` wide."""
    return [Bar(label, count, share, low, high, round(scale * share, 1), round(scale * low, 1),
                round(scale * high, 1),
                f"{label}: {count} of {n} ({100 * share:.1f}%, 95% interval {100 * low:.1f}% to {100 * high:.1f}%)",
                params)
            for label, count, share, low, high, params in rows]


@dataclass
class Segment:
    name: str
    css: str
    count: int
    share: float
    x: float
    width: float


def share_bar(parts: Sequence[tuple[str, str, int]], width: int = 600) -> list[Segment]:
    """A 100% stacked bar: each part's share of the whole, laid end to end."""
    total = sum(count for _, _, count in parts)
    segments, x = [], 0.0
    for name, css, count in parts:
        share = count / total if total else 0.0
        segments.append(Segment(name, css, count, share, round(x, 2), round(width * share, 2)))
        x += width * share
    return segments


def _relative_luminance(rgb: Sequence[int]) -> float:
    """WCAG 2's relative luminance of an sRGB colour."""
    linear = [c / 255 / 12.92 if c <= 10 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def diverging_colour(valence: float | None, strength: float = 1.0) -> tuple[str, str]:
    """Fill and text colour for a value in -1..1 (orange negative, purple positive, grey middle);
    a strength below 1 fades the fill towards white. The text is black or white, whichever contrasts more
    (WCAG 2): one of the two always reaches 4.5:1."""
    if valence is None:
        return "#ffffff", "#000000"
    v = min(max(valence, -1.0), 1.0)
    end = _POSITIVE if v >= 0 else _NEGATIVE
    full = [m + (e - m) * abs(v) for m, e in zip(_MIDDLE, end, strict=True)]
    rgb = tuple(round(255 + (c - 255) * min(max(strength, 0.0), 1.0)) for c in full)
    luminance = _relative_luminance(rgb)
    on_black, on_white = (luminance + 0.05) / 0.05, 1.05 / (luminance + 0.05)
    return "#{:02x}{:02x}{:02x}".format(*rgb), "#000000" if on_black >= on_white else "#ffffff"
