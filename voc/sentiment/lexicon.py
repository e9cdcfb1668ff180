"""Load the shipped lexicons (voc/sentiment/data) and match CX patterns on stems."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from voc.sentiment.stemming import KNOWN_FORMS, LEXICON_STEMS, stem
from voc.sentiment.text import clear_token_cache, normalise_word

_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty": 40, "forty-five": 45, "fifty": 50, "sixty": 60, "ninety": 90,
    "hundred": 100, "half": 0.5, "couple": 2, "few": 3, "several": 4, "multiple": 4, "many": 8,
    "numerous": 8, "countless": 10, "dozen": 12, "dozens": 24, "hundreds": 200,
}
_DIGITS = re.compile(r"\d+(?:\.\d+)?")
_DIGIT_CHARS = frozenset("0123456789")
# Minutes per time unit, keyed by Snowball stem.
_DURATION_UNITS = {
    "second": 1 / 60, "sec": 1 / 60, "secs": 1 / 60, "minut": 1, "min": 1, "mins": 1,
    "hour": 60, "hr": 60, "hrs": 60, "day": 1440, "night": 1440, "week": 10080,
    "fortnight": 20160, "month": 43200, "year": 525600,
}
NUM, DUR, GAP = "#", "@dur", ".."
_GAP_MAX = 2
DIMENSION_NAMES = ("sense", "feel", "think", "act", "relate")


@dataclass(frozen=True, slots=True)
class Entry:
    """What a matched phrase means: strong and weak dimensions and a valence prior."""

    dimensions: tuple[str, ...]
    weak: tuple[str, ...]
    prior: float | str | None  # float, "dur", or None (valence from context)
    length: int  # number of pattern elements, to prefer longer phrases


def _data(name: str) -> str:
    # importlib.resources keeps this working from an installed wheel
    return resources.files("voc.sentiment").joinpath("data").joinpath(name).read_text(encoding="utf-8")


def _lines(name: str):
    for line in _data(name).splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            yield line


@lru_cache(maxsize=1)
def overrides() -> dict[str, float]:
    """VADER lexicon replacements for CX text (0 = neutralised)."""
    result = {}
    for line in _lines("overrides.txt"):
        word, value = line.split("\t")
        result[word] = float(value)
    return result


@lru_cache(maxsize=1)
def formal_register() -> dict[str, float]:
    """Formal-register sentiment words VADER lacks (data/formal.txt); VADER's own values win."""
    result = {}
    for line in _lines("formal.txt"):
        word, value = line.split("\t")
        result[word] = float(value)
    return result


# Pattern's English adjective lexicon, as shipped in textblob (the lexicon is
# PDDL, textblob MIT): polarity -1..1, averaged over senses by textblob. Used
# only for words VADER's lexicon lacks, and only where the polarity is clear.
_GENERAL_MIN_POLARITY = 0.3
_GENERAL_SCALE = 1.5  # to VADER's -4..4 scale: a clear adjective lands near VADER's mild words


@lru_cache(maxsize=1)
def general_lexicon() -> dict[str, float]:
    """Valences (VADER scale) of Pattern's general English sentiment adjectives, from textblob."""
    from textblob.en import sentiment as pattern_sentiment  # loads on first use

    pattern_sentiment.load()
    stop = stopwords()
    result = {}
    for word, by_part_of_speech in dict.items(pattern_sentiment):
        polarity, _subjectivity, intensity = by_part_of_speech[None]  # None: averaged over parts of speech
        # intensity != 1 marks an intensifier ("very"), which VADER's booster rules already handle
        if " " in word or word in stop or intensity != 1.0 or abs(polarity) < _GENERAL_MIN_POLARITY:
            continue
        result[word] = round(polarity * _GENERAL_SCALE, 3)
    return result


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """Words never used as theme phrases."""
    return frozenset(word for line in _lines("stopwords.txt") for word in line.split())


def _stem_known(word: str) -> str:
    """Stem a lexicon word and remember it, so the same token in a text needs no Snowball."""
    norm = normalise_word(word)
    stemmed = stem(norm) or word
    if norm:
        KNOWN_FORMS[norm] = stemmed
    return stemmed


def _element(token: str):
    if token in (NUM, DUR, GAP):
        return token
    return frozenset(_stem_known(alt) for alt in token.split("|"))


@lru_cache(maxsize=1)
def patterns() -> dict[str, list[tuple[tuple, Entry]]]:
    """Compiled patterns indexed by first stem, longest first."""
    merged: dict[tuple, tuple[list[str], list[str], float | str | None]] = {}
    for line in _lines("patterns.txt"):
        dim, prior_text, phrases = line.split("\t")
        weak = dim.endswith("?")
        dim = dim.rstrip("?")
        if dim != "-" and dim not in DIMENSION_NAMES:
            raise ValueError(f"unknown dimension {dim!r} in patterns.txt")
        prior = None if prior_text == "." else ("dur" if prior_text == "dur" else float(prior_text))
        for phrase in phrases.split(", "):
            elements = tuple(_element(tok) for tok in phrase.split())
            # a one-word phrase is keyed per stem, so every line naming a word adds to it
            keys = [(frozenset({s}),) for s in elements[0]] if len(elements) == 1 else [elements]
            for key in keys:
                dims, weaks, old_prior = merged.get(key, ([], [], None))
                if dim != "-":
                    (weaks if weak else dims).append(dim)
                merged[key] = (dims, weaks, old_prior if old_prior is not None else prior)
    index: dict[str, list[tuple[tuple, Entry]]] = {}
    for elements, (dims, weaks, prior) in merged.items():
        entry = Entry(tuple(dict.fromkeys(dims)), tuple(dict.fromkeys(weaks)), prior, len(elements))
        firsts = (NUM,) if elements[0] == NUM else elements[0]
        for first in firsts:
            index.setdefault(first, []).append((elements, entry))
    for candidates in index.values():
        candidates.sort(key=lambda item: -item[1].length)
    for elements in merged:
        for element in elements:
            if isinstance(element, frozenset):
                _register_stems(element)
    _register_stems(_DURATION_UNITS)
    for unit in _DURATION_UNITS:
        KNOWN_FORMS.setdefault(unit, unit)
    return index


def _register_stems(stems) -> None:
    """Make these stems findable from their inflections (see voc.sentiment.stemming)."""
    for s in stems:
        if s not in (NUM, DUR, GAP):
            LEXICON_STEMS[s] = s
            for part in s.split("-") if "-" in s else ():
                LEXICON_STEMS.setdefault(part, part)
            if s.endswith("i"):
                LEXICON_STEMS.setdefault(s[:-1] + "y", s)  # "happily": "happy" + "ly" -> "happi"
            elif s.endswith("e") and len(s) > 3:
                LEXICON_STEMS.setdefault(s[:-1], s)  # "moving": "mov" + "ing" -> "move"


@lru_cache(maxsize=1)
def theme_map() -> dict[str, list[tuple[tuple[str, ...], str]]]:
    """CX theme variants (as stem tuples) indexed by first stem, longest first, with their labels."""
    index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    seen: set[tuple[str, ...]] = set()
    for line in _lines("themes.txt"):
        label, variants = line.split(":", 1)
        for variant in variants.split(","):
            key = tuple(_stem_known(w) for w in variant.split())
            if key and key not in seen:
                seen.add(key)
                index.setdefault(key[0], []).append((key, label.strip()))
                _register_stems(key)
    for candidates in index.values():
        candidates.sort(key=lambda item: -len(item[0]))
    return index


_loaded = False


def ensure_loaded() -> None:
    """Load every lexicon now (stemming of new tokens depends on them)."""
    global _loaded
    if not _loaded:
        patterns()
        theme_map()
        evaluative_stems()
        evaluative_words()
        clear_token_cache()  # forms cached before the stems were known are stale
        _loaded = True


def number_value(norm: str) -> float | None:
    """The numeric value of a number token ("40", "three", "an"), else None."""
    if norm in _NUMBER_WORDS:
        return _NUMBER_WORDS[norm]
    if _DIGITS.fullmatch(norm):
        return float(norm)
    return None


def _match_at(elements, k, stems, norms, i, end) -> int:
    """Index after the match of elements[k:] starting at token i, or -1."""
    if k == len(elements):
        return i
    element = elements[k]
    if element == GAP:
        for skip in range(_GAP_MAX + 1):
            if i + skip > end:
                break
            found = _match_at(elements, k + 1, stems, norms, i + skip, end)
            if found >= 0:
                return found
        return -1
    if i >= end:
        return -1
    if element == NUM:
        ok = number_value(norms[i]) is not None
    elif element == DUR:
        ok = stems[i] in _DURATION_UNITS
    else:
        ok = stems[i] in element
    return _match_at(elements, k + 1, stems, norms, i + 1, end) if ok else -1


@lru_cache(maxsize=256)
def _with_numeric(first: str) -> list[tuple[tuple, Entry]]:
    index = patterns()
    return sorted(index.get(first, []) + index[NUM], key=lambda item: -item[1].length)


def may_start_pattern(norm: str, stemmed: str, index: dict | None = None) -> bool:
    """Whether a token could begin a pattern (its stem starts one, or it is a number)."""
    return stemmed in (index or patterns()) or norm in _NUMBER_WORDS or norm[:1] in _DIGIT_CHARS


def find_matches(
    stems: list[str], norms: list[str], start: int, end: int, hits: list[int] | None = None
) -> list[tuple[int, int, Entry]]:
    """Longest non-overlapping pattern matches in tokens [start, end); hits = candidate starts if known."""
    index = patterns()
    if hits is None:
        hits = [i for i in range(start, end) if may_start_pattern(norms[i], stems[i])]
    found = []
    free = start  # first token not inside an earlier match
    for i in hits:
        if i < free:
            continue
        candidates = index.get(stems[i])
        norm = norms[i]
        if (norm in _NUMBER_WORDS or norm[:1] in _DIGIT_CHARS) and number_value(norm) is not None:
            candidates = _with_numeric(stems[i])
        following = stems[i + 1] if i + 1 < end else None
        for elements, entry in candidates or ():
            if entry.length == 1:
                stop = i + 1
            else:
                second = elements[1]
                if second.__class__ is frozenset:
                    if following not in second:
                        continue  # most candidates fail on their second word: skip the general matcher
                elif second == DUR and following not in _DURATION_UNITS:
                    continue  # "a" is a number, but "a" + time unit is rare
                stop = _match_at(elements, 1, stems, norms, i + 1, end)
            if stop > i:
                found.append((i, stop, entry))
                free = stop
                break
    return found


def duration_prior(norms: list[str], stems: list[str], start: int, stop: int) -> float:
    """Valence of a matched duration: minutes are quick, hours and days are slow."""
    minutes = None
    for j in range(start, stop):
        unit = _DURATION_UNITS.get(stems[j])
        if unit is not None:
            count = number_value(norms[j - 1]) if j > start else None
            minutes = (count or 1) * unit
    if minutes is None:
        return 0.0
    if norms[start] in ("in", "within", "under"):
        # "fixed within an hour", "paid in three days": done fast
        return 1.5 if minutes <= 60 else (1.0 if minutes <= 4320 else 0.0)
    if minutes < 15:
        return 1.2
    if minutes < 30:
        return 0.0
    return -1.0 if minutes < 60 else -1.8


@lru_cache(maxsize=1)
def evaluative_words() -> frozenset[str]:
    """VADER's sentiment words (as written) minus the ones we neutralise: never themes."""
    vader = resources.files("vaderSentiment").joinpath("vader_lexicon.txt").read_text(encoding="utf-8")
    neutral = {word for word, value in overrides().items() if value == 0}
    words = {line.split("\t", 1)[0] for line in vader.splitlines() if "\t" in line} | set(formal_register())
    return frozenset(words - neutral)


@lru_cache(maxsize=1)
def evaluative_stems() -> frozenset[str]:
    """Stems of our single-word valence priors ("slow", "tasty"): never themes."""
    result: set[str] = set()
    for candidates in patterns().values():
        for elements, entry in candidates:
            if entry.length == 1 and isinstance(entry.prior, float) and entry.prior != 0:
                result.update(elements[0])
    return frozenset(result)
