"""Themes: key phrases of a comment, normalised so that variants of one topic meet.

Without POS-tagger data, a theme is either a phrase from the shipped CX theme
list (data/themes.txt, matched on stems, which also gives a readable label) or a
run of one or two content words: not a stopword, not a sentiment word, not an
adverb or an -ed/-ing verb form. theme_key() builds the aggregation key from
Snowball stems, so "delivery", "deliveries" and "delivered late" share the key
"delivery".
"""

from __future__ import annotations

import re
from functools import lru_cache

from voc.sentiment.lexicon import ensure_loaded, evaluative_stems, evaluative_words, stopwords, theme_map
from voc.sentiment.stemming import lexicon_stem, stem
from voc.sentiment.text import CANDIDATE, THEME, Tokens, normalise_word

MAX_THEMES = 5
_WORD = re.compile(r"[a-z][a-z'\-]*[a-z]")
_PAUSE = (",", ";", ":", ".", "!", "?", ")")
_NOT_NOUN = ("ly", "ed", "ing", "n't")


@lru_cache(maxsize=65_536)
def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


@lru_cache(maxsize=1)
def _word_tables() -> tuple[frozenset[str], frozenset[str], frozenset[str], dict]:
    return stopwords(), evaluative_words(), evaluative_stems(), theme_map()


def theme_flags(norm: str, stemmed: str) -> int:
    """THEME if a token could be part of a theme phrase, plus CANDIDATE if it can stand in a free phrase."""
    return theme_classifier()(norm, stemmed)


@lru_cache(maxsize=1)
def theme_classifier():
    """theme_flags with its word tables bound once (it runs for every new word of a text)."""
    stop, sentiment_words, sentiment_stems, themes = _word_tables()
    is_word = _WORD.fullmatch

    def classify(norm: str, stemmed: str) -> int:
        if not norm:
            return 0
        flags = THEME if stemmed in themes else 0
        if (
            norm not in stop
            and len(norm) >= 3
            and norm not in sentiment_words
            and stemmed not in sentiment_stems
            and not norm.endswith(_NOT_NOUN)
            and ((norm.isascii() and norm.isalpha()) or is_word(norm) is not None)  # letters only: a word
        ):
            flags |= CANDIDATE | THEME  # a content word, not a sentiment word
        return flags

    return classify


def _phrases(norms, stems, raws, flags, start: int, stop: int, interesting: list[int]):
    """(label, weight, is_listed) for the theme phrases among the interesting tokens of [start, stop)."""
    themes = theme_map()
    found = []
    free = start  # first token not inside an earlier phrase
    for i in interesting:
        if i < free:
            continue
        for key, label in themes.get(stems[i], ()):
            if i + len(key) <= stop and tuple(stems[i:i + len(key)]) == key:
                found.append((label, 2.0 + 0.5 * (len(key) - 1), True))
                free = i + len(key)
                break
        else:
            if flags[i] & CANDIDATE:
                if i + 1 < stop and flags[i + 1] & CANDIDATE and not raws[i].endswith(_PAUSE):
                    found.append((_singular(norms[i]) + " " + _singular(norms[i + 1]), 1.3, False))
                    free = i + 2
                else:
                    found.append((_singular(norms[i]), 1.0, False))
                    free = i + 1
    return found


def extract_themes(tokens: Tokens, limit: int = MAX_THEMES) -> tuple[str, ...]:
    """Up to `limit` theme labels of a tokenised text, strongest first."""
    # Phrases stop at punctuation and at stopwords, so they never cross a segment.
    scores: dict[str, float] = {}  # in order of first appearance
    flags = tokens.flags
    interesting = [j for j, f in enumerate(flags) if f & THEME]
    if not interesting:
        return ()
    get = scores.get
    for label, weight, _listed in _phrases(
        tokens.norms, tokens.stems, tokens.raws, flags, 0, len(flags), interesting
    ):
        scores[label] = get(label, 0.0) + weight
    if len(scores) <= 1:
        return tuple(scores)
    # a reversed sort is still stable: equal scores keep their order of appearance
    return tuple(sorted(scores, key=scores.__getitem__, reverse=True)[:limit])


@lru_cache(maxsize=16_384)
def theme_key(phrase: str) -> str:
    """Aggregation key of a theme phrase: "Deliveries", "delivered late" -> "delivery"."""
    ensure_loaded()
    raws = str(phrase).split()
    norms = [normalise_word(raw) for raw in raws]
    stems = [lexicon_stem(norm) for norm in norms]
    flags = [theme_flags(norm, stemmed) for norm, stemmed in zip(norms, stems, strict=True)]
    interesting = [i for i, f in enumerate(flags) if f & THEME]
    keys = [
        label if listed else " ".join(stem(word) for word in label.split())
        for label, _weight, listed in _phrases(norms, stems, raws, flags, 0, len(raws), interesting)
    ]
    return " ".join(dict.fromkeys(keys))
