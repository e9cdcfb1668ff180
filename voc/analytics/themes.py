"""The themes page: what customers raise, ranked by what hurts most, each with its trend.

A trend is shown only against a previous period that had comments ("no earlier data" otherwise). It is
called significant when the theme's share of comments moved (pooled two-proportion z test, both periods
with at least SMALL_SAMPLE comments) and the change survives the Benjamini–Hochberg correction across
the themes shown, so that among 25 themes one chance swing is not called a trend."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from voc.analytics import charts
from voc.analytics.comparisons import FALSE_DISCOVERY_RATE, benjamini_hochberg, proportion_p_value
from voc.analytics.service import Filters, explorer_params
from voc.sentiment.reports import theme_report
from voc.surveys.metrics import SMALL_SAMPLE


def themes(session: Session, f: Filters, limit: int = 25) -> dict[str, Any]:
    """The top themes of the view by impact, with mentions, sentiment and the change against the period before."""
    before = f.bounds.previous()
    now = theme_report(session, survey=f.survey, touchpoint=f.touchpoint, since=f.start, until=f.end)
    earlier = theme_report(session, survey=f.survey, touchpoint=f.touchpoint, since=before.start, until=before.end)
    previous = {t.key: t.count for t in earlier.themes}
    has_earlier = earlier.comments > 0
    shown = now.themes[:limit]
    p_values = [proportion_p_value(t.count, now.comments, previous.get(t.key, 0), earlier.comments)
                if has_earlier else None for t in shown]
    rows = []
    for theme, discovery in zip(shown, benjamini_hochberg(p_values), strict=True):
        count_before = previous.get(theme.key, 0) if has_earlier else None
        fill, ink = charts.diverging_colour(theme.mean_sentiment)
        rows.append({
            "theme": theme, "previous": count_before,
            "delta": theme.count - count_before if count_before is not None else None,
            "change": (theme.count - count_before) / count_before if count_before else None,
            "share": theme.count / now.comments if now.comments else None,
            "share_before": count_before / earlier.comments if count_before is not None else None,
            "discovery": discovery, "fill": fill, "ink": ink, "small": theme.count < SMALL_SAMPLE,
            # the chip's label is the filter it opens: the explorer groups by the label's key
            "params": explorer_params(f, theme=theme.theme),
        })
    top = max((r["theme"].count for r in rows), default=0)
    return {"rows": rows, "top": top, "small_sample": SMALL_SAMPLE, "previous_bounds": before,
            "has_earlier": has_earlier, "comments": now.comments, "comments_before": earlier.comments,
            "rate": FALSE_DISCOVERY_RATE}
