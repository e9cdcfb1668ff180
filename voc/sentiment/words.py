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

from voc.sentiment.aspects import aspects, noun_singular
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
)
from voc.sentiment.scoring import DECREASERS, PRIVATIVES
from voc.sentiment.stemming import KNOWN_FORMS, lexicon_stem, stem_prefixes
from voc.sentiment.text import CANDIDATE, GENERIC, PAIR, PATTERN, SECOND, SHIFTER, THEME

_WORD = re.compile(r"[a-z][a-z'\-]*[a-z]")
_SHORT_WORD = 7  # a word longer than this cannot be a stem of under 4 letters plus an ending


WordForm = tuple[str, int, str]  # (lexicon stem, flags, singular)


@lru_cache(maxsize=1)
def word_classifier() -> Callable[[str], WordForm]:
    """classify(norm) -> (lexicon stem, its PATTERN/PAIR/SECOND/THEME/CANDIDATE/GENERIC/SHIFTER flags, its singular)."""
    ensure_loaded()
    known_stems = KNOWN_FORMS
    long_prefixes, four_letter_stems, short_stems = stem_prefixes()
    stop, sentiment_words, valence_words = stopwords(), evaluative_words(), evaluative_forms()
    pattern_starts, seconds = patterns(), second_stems()
    lexicon = aspects()
    aspect_starts, never, alone = lexicon.starts, lexicon.never, lexicon.alone
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
        base = norm[:-2] if norm.endswith("'s") else norm  # "the courier's van": the courier
        flags = THEME if base in aspect_starts else 0  # a CX aspect may start here
        word = norm
        if (
            norm not in stop
            and len(norm) >= 3
            and norm not in sentiment_words
            and norm not in valence_words
            and norm not in never
            and ((norm.isascii() and norm.isalpha()) or is_word(norm) is not None)  # letters only: a word
        ):
            noun = noun_singular(base)
            if noun is not None and noun not in never and noun not in stop:
                flags |= CANDIDATE | THEME  # a noun, not a sentiment word: a topic or part of one
                word = noun
                if noun in alone or norm in alone:
                    flags |= GENERIC
        if stemmed in pattern_starts or norm in NUMBER_WORDS or norm[:1] in DIGIT_CHARS:
            flags |= (0, PATTERN, PAIR)[pattern_start(norm, stemmed)]
        if stemmed in seconds:
            flags |= SECOND
        if norm in shifters:
            flags |= SHIFTER
        return stemmed, flags, word

    return classify
