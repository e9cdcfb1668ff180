"""The result of analysing one text: sentiment, Schmitt's five dimensions, themes, spans."""

from __future__ import annotations

from dataclasses import dataclass, field

DIMENSIONS: tuple[str, ...] = ("sense", "feel", "think", "act", "relate")

# VADER's usual thresholds on the compound score.
POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05


def sentiment_label(compound: float) -> str:
    """Map a compound score to "positive", "neutral" or "negative" (VADER thresholds)."""
    if compound >= POSITIVE_THRESHOLD:
        return "positive"
    if compound <= NEGATIVE_THRESHOLD:
        return "negative"
    return "neutral"


@dataclass(frozen=True, slots=True)
class DimensionScore:
    """How strongly (salience 0..1) and how well (valence -1..1) a dimension was experienced."""

    salience: float
    valence: float

    def to_dict(self) -> dict[str, float]:
        """Return the JSON shape {"salience", "valence"}."""
        return {"salience": self.salience, "valence": self.valence}


@dataclass(frozen=True, slots=True)
class Span:
    """Character offsets [start, end) of the clause behind one dimension, in the original text."""

    start: int
    end: int
    dimension: str
    valence: float

    def to_dict(self) -> dict[str, object]:
        """Return the JSON shape {"start", "end", "dimension", "valence"}."""
        return {"start": self.start, "end": self.end, "dimension": self.dimension, "valence": self.valence}


@dataclass(frozen=True, slots=True)
class Analysis:
    """Sentiment, dimensions, themes and highlight spans of one text."""

    compound: float = 0.0
    dimensions: dict[str, DimensionScore | None] = field(
        default_factory=lambda: dict.fromkeys(DIMENSIONS)
    )
    themes: tuple[str, ...] = ()
    spans: tuple[Span, ...] = ()

    @property
    def label(self) -> str:
        """The sentiment label derived from the compound score."""
        return sentiment_label(self.compound)

    def to_dict(self) -> dict[str, object]:
        """Return the documented JSON shape (sentiment, dimensions, themes, spans)."""
        return {
            "sentiment": {"compound": self.compound, "label": self.label},
            "dimensions": {
                name: (score.to_dict() if (score := self.dimensions.get(name)) else None)
                for name in DIMENSIONS
            },
            "themes": list(self.themes),
            "spans": [span.to_dict() for span in self.spans],
        }


EMPTY_ANALYSIS = Analysis()
