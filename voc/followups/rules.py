"""When a response needs a human: the default rules, pure functions of the stored response."""

from __future__ import annotations

from voc.surveys.models import Response

NEGATIVE_TEXT = -0.5  # VADER compound at or below this reads as strongly negative


def followup_reason(response: Response) -> str | None:
    """Why this response should be followed up ("detractor", "low_csat", "high_effort",
    "negative_comment"), or None when it needs nobody's attention."""
    if response.nps is not None and 0 <= response.nps <= 6:
        return "detractor"
    if response.csat is not None and response.csat <= 2:
        return "low_csat"
    if response.ces is not None and response.ces <= 2:
        return "high_effort"
    compound = response_compound(response)
    if compound is not None and compound <= NEGATIVE_TEXT:
        return "negative_comment"
    return None


def response_compound(response: Response) -> float | None:
    """The response's sentiment (VADER compound, -1..1) from its analysis, else its stored column."""
    sentiment = (response.analysis or {}).get("sentiment") or {}
    compound = sentiment.get("compound") if isinstance(sentiment, dict) else None
    return compound if isinstance(compound, int | float) else response.sentiment


REASON_LABELS = {"detractor": "Detractor (NPS 0–6)", "low_csat": "Unsatisfied (CSAT 1–2)",
                 "high_effort": "High effort (CES 1–2)", "negative_comment": "Strongly negative comment"}
