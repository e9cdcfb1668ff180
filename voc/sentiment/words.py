"""What a word is to the analyser: its lexicon stem, its flags and its singular, found in one call.

A first pass over new comments meets thousands of words it has not seen; each
is classified once (voc.sentiment.text caches the result per word form), so
this function runs for every new word and is written for that: every table is
bound once, and the tests that reject most words come first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from voc.sentiment.lexicon import (
    DIGIT_CHARS,
    NUMBER_WORDS,
    ensure_loaded,
    evaluative_forms,
    evaluative_words,
    pattern_start,
    patterns,
    second_stems,
    stopwords,
    theme_map,
)
from voc.sentiment.scoring import DECREASERS, PRIVATIVES
from voc.sentiment.stemming import KNOWN_FORMS, lexicon_stem, stem_prefixes
from voc.sentiment.text import CANDIDATE, PAIR, PATTERN, SECOND, SHIFTER, THEME

_WORD = re.compile(r"[a-z][a-z'\-]*[a-z]")
_NOT_NOUN = ("ly", "ed", "ing", "n't")
_SHORT_WORD = 7  # a word longer than this cannot be a stem of under 4 letters plus an ending


def singular(word: str) -> str:
    """A plural noun's singular by the regular rules ("deliveries" -> "delivery"), else the word."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


WordForm = tuple[str, int, str]  # (lexicon stem, flags, singular)


@lru_cache(maxsize=1)
def word_classifier() -> Callable[[str], WordForm]:
    """classify(norm) -> (lexicon stem, its PATTERN/PAIR/SECOND/THEME/CANDIDATE/SHIFTER flags, its singular)."""
    ensure_loaded()
    known_stems = KNOWN_FORMS
    long_prefixes, four_letter_stems, short_stems = stem_prefixes()
    stop, sentiment_words, valence_words = stopwords(), evaluative_words(), evaluative_forms()
    themes, pattern_starts, seconds = theme_map(), patterns(), second_stems()
    shifters = DECREASERS | PRIVATIVES
    is_word = _WORD.fullmatch

    def classify(norm: str) -> WordForm:
        if not norm:
            return "", 0, ""
        stemmed = known_stems.get(norm)
        if stemmed is None:
            # lexicon_stem's quick reject, inlined: no lexicon stem starts most words
            if (
                "-" in norm
                or norm[:5] in long_prefixes
                or norm[:4] in four_letter_stems
                or (len(norm) <= _SHORT_WORD and (norm[:3] in short_stems or norm[:2] in short_stems))
            ):
                stemmed = lexicon_stem(norm)
            else:
                stemmed = norm
        flags = THEME if stemmed in themes else 0
        word = norm
        if (
            norm not in stop
            and len(norm) >= 3
            and norm not in sentiment_words
            and norm not in valence_words
            and not norm.endswith(_NOT_NOUN)
            and ((norm.isascii() and norm.isalpha()) or is_word(norm) is not None)  # letters only: a word
        ):
            flags |= CANDIDATE | THEME  # a content word, not a sentiment word
            word = singular(norm)
        if stemmed in pattern_starts or norm in NUMBER_WORDS or norm[:1] in DIGIT_CHARS:
            flags |= (0, PATTERN, PAIR)[pattern_start(norm, stemmed)]
        if stemmed in seconds:
            flags |= SECOND
        if norm in shifters:
            flags |= SHIFTER
        return stemmed, flags, word

    return classify
