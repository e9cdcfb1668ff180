"""Sentiment, Schmitt's experiential dimensions and themes of customer comments."""

from voc.sentiment.analyser import ANALYSER_VERSION, analyse, analyse_batch
from voc.sentiment.mismatch import score_text_mismatch
from voc.sentiment.model import DIMENSIONS, Analysis, DimensionScore, Span, sentiment_label
from voc.sentiment.themes import theme_key

__all__ = [
    "ANALYSER_VERSION",
    "DIMENSIONS",
    "Analysis",
    "DimensionScore",
    "Span",
    "analyse",
    "analyse_batch",
    "score_text_mismatch",
    "sentiment_label",
    "theme_key",
]
