"""Flag answers whose score and comment disagree (a 10 with an angry comment)."""

from __future__ import annotations

import math

# "Clearly" positive or negative: well past VADER's +-0.05 label threshold, so a
# mildly worded comment never raises a flag.
CLEAR_COMPOUND = 0.3

# (highest score that counts as low, lowest score that counts as high, valid range)
_BANDS: dict[str, tuple[float, float, float, float]] = {
    "nps": (6, 9, 0, 10),  # detractors 0-6, promoters 9-10
    "csat": (2, 4, 1, 5),  # 1-2 dissatisfied, 4-5 satisfied
    "ces": (3, 5, 1, 7),  # 1-7, high = easy: 1-3 hard, 5-7 easy
}


def score_text_mismatch(question_type: str, score: int | float, compound: float) -> bool:
    """True when a high score comes with a clearly negative comment, or a low one with a clearly positive comment."""
    band = _BANDS.get(str(question_type).lower())
    try:
        score, compound = float(score), float(compound)
    except (TypeError, ValueError):
        return False
    if band is None or math.isnan(score) or math.isnan(compound):
        return False
    low, high, minimum, maximum = band
    if not minimum <= score <= maximum:
        return False
    if score >= high:
        return compound <= -CLEAR_COMPOUND
    if score <= low:
        return compound >= CLEAR_COMPOUND
    return False
