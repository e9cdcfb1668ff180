"""analyse(text): sentiment, Schmitt's five dimensions, themes and spans of one comment.

Pipeline: tokens -> sentences -> clauses (split on contrast: but, however,
although, yet, ";") -> segments (split on pauses and on "and"/"so" before a new
subject). VADER scores each clause's words once (scoring.py); the CX layer
(data/patterns.txt) adds valence for phrases VADER misses ("took forever",
"still waiting for my refund"), flipped by a negator before them ("no hassle"),
and tags the Schmitt dimensions. Words are matched on Snowball stems, but a
one-word valence holds only for the words written and their inflections:
Snowball gives "thoughtful" and "thought" one stem, and only the first is
praise. Polarity shifters then turn what a decrease verb or a privative word
governs ("prevents errors", "lacked courtesy"). A weak cue ("staff", "food")
tags its segment only when the segment carries sentiment and no stronger cue
explains it.

Overall compound: the sum of the words' valences, each clause weighted for
contrast (a clause after "but"/"however" counts 1.5 and the clauses before it
0.5, as in VADER's "but" rule; a subordinate "although ..." clause 0.5),
positive valences weighted 0.7 (negativity bias: human raters weigh criticism
more than praise), plus VADER's punctuation emphasis, then damped by length
and normalised like VADER:
    compound = x / sqrt(x^2 + 15),   x = 2 * sum / n_words ** 0.35
so a long comment does not saturate at +-1. Averaging per-sentence compounds
was measured too and correlated worse with human ratings on VADER's four
rated sets (bench/eval_sentiment.py), so it is not used.

A dimension's valence comes only from the segments that express it: each
segment's valence sum v is squashed to v / sqrt(v^2 + 8) and the segments are
averaged with their clause weights. Salience is
    sqrt(share of the text's words in those segments) * (0.5 + 0.5 * mean |valence|)
so a dimension covering the whole comment with strong feeling scores 1.0, and a
neutral passing mention in a long comment scores little.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from functools import reduce
from operator import or_

from voc.sentiment.lexicon import find_matches
from voc.sentiment.model import DIMENSIONS, EMPTY_ANALYSIS, Analysis, DimensionScore, Span
from voc.sentiment.scoring import ClauseScorer, apply_domain, apply_shifters
from voc.sentiment.text import PAIR, PATTERN, SECOND, SENTIMENT, SHIFTER, clean_text, set_token_classifier, tokenize
from voc.sentiment.themes import extract_themes
from voc.sentiment.words import word_classifier

ANALYSER_VERSION = "voc-1.6"

logger = logging.getLogger(__name__)

_COMPOUND_ALPHA = 15.0  # VADER's normalisation constant
_POSITIVE_WEIGHT = 0.7
_LENGTH_EXPONENT = 0.35
_LENGTH_SCALE = 2.0
_SEGMENT_ALPHA = 8.0
_SIGNIFICANT = 0.05
_is_positive = (0.0).__lt__
_TRIM = ",;:-–—"

_scorer: ClauseScorer | None = None


def get_scorer() -> ClauseScorer:
    """The process-wide VADER scorer (its lexicons load once)."""
    global _scorer
    if _scorer is None:
        scorer = ClauseScorer()
        set_token_classifier(word_classifier(), scorer.lexicon)
        _scorer = scorer
    return _scorer


def themes_of(text: str) -> tuple[str, ...]:
    """The themes the analyser reads in `text` (one sentence, say: the explorer highlights where a theme is named)."""
    scorer = _scorer or get_scorer()
    return extract_themes(tokenize(clean_text(text), scorer.emojis))


def analyse(text: str) -> Analysis:
    """Analyse one comment; never raises, returns a neutral empty analysis for no content."""
    try:
        return _analyse(text)
    except Exception:  # one odd comment must not stop a batch or a worker
        logger.exception("sentiment analysis failed; returning an empty analysis")
        return EMPTY_ANALYSIS


def analyse_batch(texts: Iterable[str]) -> list[Analysis]:
    """Analyse many comments in order with one shared scorer."""
    get_scorer()
    return [analyse(text) for text in texts]


def _analyse(text: str) -> Analysis:
    text = clean_text(text)
    if not text or text.isspace():
        return EMPTY_ANALYSIS
    scorer = _scorer or get_scorer()
    tokens = tokenize(text, scorer.emojis)
    norms, stems, raws = tokens.norms, tokens.stems, tokens.raws
    if not raws:
        return EMPTY_ANALYSIS
    flags = tokens.flags
    # Most words carry nothing; visit only those flagged as sentiment words, pattern starts or shifters.
    present = reduce(or_, flags)
    lexicon_hits = [i for i, f in enumerate(flags) if f & SENTIMENT] if present & SENTIMENT else None
    pattern_hits = None
    if present & (PATTERN | PAIR):
        # "the", "a", "to" start patterns only before particular words: most of them start none
        pattern_hits = [i for i, f in enumerate(flags) if f & (PATTERN | PAIR)]
        if present & PAIR:
            last = len(flags) - 1
            pattern_hits = [
                i for i in pattern_hits if flags[i] & PATTERN or (i < last and flags[i + 1] & SECOND)
            ] or None
    shifter_hits = [i for i, f in enumerate(flags) if f & SHIFTER] if present & SHIFTER else None
    clauses = tokens.clauses
    whole = len(clauses) == 1  # most comments are one clause: no need to cut the hits per clause
    vals = [0.0] * len(raws)
    clause_matches = []
    total = 0.0
    for start, stop, weight, _sentence in clauses:
        if whole:
            hits, starts = lexicon_hits, pattern_hits
            if hits:
                vals = scorer.word_valences(tokens.words, tokens.lowers, hits)
        else:
            hits = [i - start for i in lexicon_hits if start <= i < stop] if lexicon_hits else None
            if hits:
                vals[start:stop] = scorer.word_valences(tokens.words[start:stop], tokens.lowers[start:stop], hits)
            starts = [i for i in pattern_hits if start <= i < stop] if pattern_hits else None
        matches = find_matches(stems, norms, start, stop, starts) if starts else []
        if matches:
            apply_domain(vals, norms, stems, raws, matches, start)
        clause_matches.append(matches)
        if shifter_hits and (hits or matches):
            shifters = [i for i in shifter_hits if start <= i < stop]
            if shifters:
                apply_shifters(vals, norms, raws, scorer.lexicon, start, stop, shifters)
        if hits or matches:
            clause_vals = vals[start:stop]
            clause_sum = sum(clause_vals) - (1 - _POSITIVE_WEIGHT) * sum(filter(_is_positive, clause_vals))
            total += weight * clause_sum
    compound = _compound(scorer, text, total, len(raws))
    dimensions, spans = _dimensions(tokens, vals, clause_matches)
    return Analysis(
        compound=round(compound, 4) + 0.0,  # + 0.0 turns -0.0 into 0.0
        dimensions=dimensions,
        themes=extract_themes(tokens),
        spans=tuple(spans),
    )


def _compound(scorer: ClauseScorer, text: str, total: float, n_words: int) -> float:
    """Length-damped, VADER-normalised compound (see module docstring)."""
    if total == 0:
        return 0.0
    if "!" in text or "?" in text:
        emphasis = scorer.punctuation_emphasis(text)
        total += emphasis if total > 0 else -emphasis
    x = _LENGTH_SCALE * total / max(1, n_words) ** _LENGTH_EXPONENT
    return max(-1.0, min(1.0, x / math.sqrt(x * x + _COMPOUND_ALPHA)))


def _dimensions(tokens, vals, clause_matches):
    """Tag each segment with the dimensions its phrases express and aggregate them."""
    dimensions: dict[str, DimensionScore | None] = dict.fromkeys(DIMENSIONS)
    spans: list[Span] = []
    if not any(clause_matches):
        return dimensions, spans
    found: dict[str, list[tuple[float, float, int]]] = {}
    segments = tokens.segments
    seg = 0
    for matches in clause_matches:
        for index, (first, _stop, _entry) in enumerate(matches):
            while segments[seg][1] <= first:
                seg += 1
            if index and matches[index - 1][0] >= segments[seg][0]:
                continue  # this segment was handled with an earlier match
            start, stop, clause = segments[seg]
            strong: list[str] = []
            weak: list[str] = []
            explained = False  # a phrase with its own valence accounts for the sentiment
            for other_first, _other_stop, other in matches[index:]:
                if other_first >= stop:
                    break
                strong.extend(other.dimensions)
                weak.extend(other.weak)
                explained = explained or (not other.dimensions and bool(other.prior))
            raw_sum = sum(vals[start:stop])
            if strong:
                names = dict.fromkeys(strong)
            elif weak and abs(raw_sum) > _SIGNIFICANT and not explained:
                names = dict.fromkeys(weak)
            else:
                continue
            valence = raw_sum / math.sqrt(raw_sum * raw_sum + _SEGMENT_ALPHA)
            weight = tokens.clauses[clause][2]
            last = tokens.raws[stop - 1]
            first_offset, end = tokens.bounds(start, stop - 1)
            end = max(end - (len(last) - len(last.rstrip(_TRIM))), first_offset + 1)
            rounded = round(valence, 3)
            for name in names:
                found.setdefault(name, []).append((valence, weight, stop - start))
                spans.append(Span(first_offset, end, name, rounded))
    total_words = len(tokens.raws)
    for name, parts in found.items():
        weight_sum = valence_sum = intensity_sum = 0.0
        words = 0
        for v, w, n in parts:
            weight_sum += w
            valence_sum += v * w
            intensity_sum += abs(v) * w
            words += n
        valence = valence_sum / weight_sum
        share = min(1.0, words / total_words)
        salience = math.sqrt(share) * (0.5 + 0.5 * intensity_sum / weight_sum)
        dimensions[name] = DimensionScore(round(min(1.0, salience), 3), round(valence, 3))
    return dimensions, spans
