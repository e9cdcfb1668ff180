"""A contact's experience: the rolling summary sent as contact.experience_updated, and its timeline."""

from __future__ import annotations

from datetime import UTC, datetime
from statistics import fmean
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from voc.db import utcnow
from voc.surveys.models import Contact, Response, Survey, Touchpoint
from voc.surveys.responses import contact_ref

DIMENSIONS = ("sense", "feel", "think", "act", "relate")
RECENT_RESPONSES = 10  # the window for averages: how the customer feels now, not three years ago
TREND_THRESHOLD = 0.15  # on the -1..1 experience scale; smaller moves are "stable"


def iso(moment: datetime | None) -> str | None:
    """A UTC time as `2025-05-14T09:31:12Z`, the form of every time in a payload."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def row_key(session: Session, model: Any, row_id: int | None) -> str | None:
    """The `key` of a survey or touchpoint by id (the identity map makes repeats free)."""
    row = session.get(model, row_id) if row_id else None
    return row.key if row else None


def _label(compound: float) -> str:
    return "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"


def analysis_data(response: Response) -> dict[str, Any]:
    """The analysis in the webhook shape (no text spans: a CRM has no use for character offsets)."""
    analysis = response.analysis or {}
    sentiment = analysis.get("sentiment")
    if sentiment is None and response.sentiment is not None:
        sentiment = {"compound": response.sentiment, "label": _label(response.sentiment)}
    dimensions = analysis.get("dimensions") or {}
    mismatch = response.mismatch if response.mismatch is not None else analysis.get("mismatch")
    return {
        "sentiment": sentiment,
        "dimensions": {name: dimensions.get(name) for name in DIMENSIONS},
        "themes": list(analysis.get("themes") or []),
        "mismatch": bool(mismatch),
    }


def _is_analysed(response: Response) -> bool:
    return response.analysis is not None or response.sentiment is not None


def contact_responses(session: Session, contact: Contact) -> list[Response]:
    """The contact's responses, oldest first."""
    return list(session.scalars(select(Response).where(Response.contact_id == contact.id)
                                .order_by(Response.completed_at, Response.id)))


def experience_summary(session: Session, contact: Contact, responses: list[Response] | None = None
                       ) -> dict[str, Any]:
    """Latest NPS and category, mean CSAT and CES, latest sentiment, mean dimension valences, trend."""
    if responses is None:
        responses = contact_responses(session, contact)
    recent = responses[-RECENT_RESPONSES:]
    latest_nps = next((r.nps for r in reversed(responses) if r.nps is not None), None)
    analysed = [analysis_data(r) for r in recent if _is_analysed(r)]
    valences: dict[str, list[float]] = {name: [] for name in DIMENSIONS}
    for analysis in analysed:
        for name, score in analysis["dimensions"].items():
            if score and score.get("valence") is not None:
                valences[name].append(float(score["valence"]))
    last = responses[-1] if responses else None
    return {
        "latest_nps": latest_nps,
        "nps_category": nps_category(latest_nps),
        "csat": _mean([r.csat for r in recent]),
        "ces": _mean([r.ces for r in recent]),
        # A response without text has no sentiment: the latest one the customer expressed counts.
        "latest_sentiment": next((a["sentiment"] for a in reversed(analysed) if a["sentiment"]), None),
        "dimensions": {name: _mean(values, 4) for name, values in valences.items()},
        "last_touchpoint": row_key(session, Touchpoint, last.touchpoint_id) if last else None,
        "response_count": len(responses),
        "trend": experience_trend(recent),
        "updated_at": iso(utcnow()),
    }


def nps_category(nps: int | None) -> str | None:
    """promoter (9–10), passive (7–8) or detractor (0–6)."""
    if nps is None:
        return None
    return "promoter" if nps >= 9 else "passive" if nps >= 7 else "detractor"


def experience_value(response: Response) -> float | None:
    """How one response went, on -1..1: the mean of its rescaled NPS, CSAT, CES and sentiment."""
    parts = []
    if response.nps is not None:
        parts.append((response.nps - 5) / 5)
    if response.csat is not None:
        parts.append((response.csat - 3) / 2)
    if response.ces is not None:
        parts.append((4 - response.ces) / 3)  # low effort is good
    sentiment = analysis_data(response)["sentiment"] if _is_analysed(response) else None
    if sentiment and sentiment.get("compound") is not None:
        parts.append(float(sentiment["compound"]))
    return fmean(parts) if parts else None


def experience_trend(responses: list[Response]) -> str | None:
    """improving, declining or stable: the latest response against the mean of the earlier recent ones."""
    values = [v for v in (experience_value(r) for r in responses) if v is not None]
    if len(values) < 2:
        return None
    change = values[-1] - fmean(values[:-1])
    if change > TREND_THRESHOLD:
        return "improving"
    if change < -TREND_THRESHOLD:
        return "declining"
    return "stable"


def contact_experience(session: Session, contact: Contact) -> dict[str, Any]:
    """The contact, the same summary contact.experience_updated carries, and every response in time order."""
    responses = contact_responses(session, contact)
    timeline = []
    for response in responses:
        touchpoint = session.get(Touchpoint, response.touchpoint_id) if response.touchpoint_id else None
        analysis = analysis_data(response) if _is_analysed(response) else None
        timeline.append({
            "response_id": str(response.id),
            "survey": row_key(session, Survey, response.survey_id),
            "touchpoint": touchpoint.key if touchpoint else None,
            "stage": touchpoint.stage if touchpoint else None,
            "completed_at": iso(response.completed_at),
            "scores": {"nps": response.nps, "csat": response.csat, "ces": response.ces},
            "analysis": analysis,
        })
    return {"contact": contact_ref(contact), "summary": experience_summary(session, contact, responses),
            "timeline": timeline}


def _mean(values: list[Any], digits: int = 6) -> float | None:
    present = [float(v) for v in values if v is not None]
    return round(fmean(present), digits) if present else None
