"""Load the shipped lexicons (voc/sentiment/data) and match CX patterns on stems."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from voc.sentiment.stemming import KNOWN_FORMS, LEXICON_STEMS, stem
from voc.sentiment.text import clear_token_cache, normalise_word

NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty": 40, "forty-five": 45, "fifty": 50, "sixty": 60, "ninety": 90,
    "hundred": 100, "half": 0.5, "couple": 2, "few": 3, "several": 4, "multiple": 4, "many": 8,
    "numerous": 8, "countless": 10, "dozen": 12, "dozens": 24, "hundreds": 200,
}
_DIGITS = re.compile(r"\d+(?:\.\d+)?")
DIGIT_CHARS = frozenset("0123456789")
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
    # A one-word prior holds for the words written in patterns.txt and their
    # inflections only (forms); another word of the same Snowball stem gets the
    # entry without its prior (plain), or no match: "thoughtful" is kind, "thought"
    # is not, though Snowball gives both "thought" ("political"/"polite": "polit").
    forms: frozenset[str] | None = None
    plain: Entry | None = None


def inflected_forms(word: str) -> set[str]:
    """A word and its regular inflections: -s, -ed, -ing, -er, -est, -ly, with e-drop, y->i and doubling."""
    forms = {word, word + "s", word + "es", word + "ed", word + "ing", word + "er", word + "est", word + "ly"}
    if word.endswith("e"):
        forms |= {word + "d", word + "r", word + "st", word[:-1] + "ing"}
    if word.endswith("y") and len(word) > 2:
        forms |= {word[:-1] + ending for ending in ("ies", "ied", "ier", "iest", "ily")}
    if len(word) > 2 and word[-1] in "bdgmnprt" and word[-2] in "aeiou" and word[-3] not in "aeiou":
        forms |= {word + word[-1] + ending for ending in ("ed", "ing", "er", "est")}
    return forms


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


# Pattern's English adjective lexicon, as shipped in textblob (the lexicon is
# PDDL, textblob MIT): polarity -1..1, averaged over senses by textblob.
# Where VADER lacks a word it is used only where the polarity is clear; where
# both rate a word, their ratings are averaged (see scoring.ClauseScorer).
_GENERAL_MIN_POLARITY = 0.3
_GENERAL_SCALE = 1.5  # to VADER's -4..4 scale: a clear adjective lands near VADER's mild words


@lru_cache(maxsize=1)
def pattern_polarities() -> dict[str, float]:
    """Polarity (-1..1) of each single word Pattern's lexicon rates, intensifiers left out."""
    from textblob.en import sentiment as pattern_sentiment  # loads on first use

    pattern_sentiment.load()
    result = {}
    for word, by_part_of_speech in dict.items(pattern_sentiment):
        polarity, _subjectivity, intensity = by_part_of_speech[None]  # None: averaged over parts of speech
        # intensity != 1 marks an intensifier ("very"), which VADER's booster rules already handle
        if " " not in word and intensity == 1.0:
            result[word] = polarity
    return result


@lru_cache(maxsize=1)
def general_lexicon() -> dict[str, float]:
    """Valences (VADER scale) of Pattern's clearly positive or negative adjectives, for words VADER lacks."""
    stop = stopwords()
    return {
        word: round(polarity * _GENERAL_SCALE, 3)
        for word, polarity in pattern_polarities().items()
        if word not in stop and abs(polarity) >= _GENERAL_MIN_POLARITY
    }


# Part-of-speech weights of lexicon words. Adjectives and verbs evaluate ("a
# dreadful plan", "they betrayed us"); nouns and other words more often name a
# topic ("crime", "war", "cancer") that a text can mention without taking a side.
# A word's class is its most frequent tag in the Brill tagger lexicon that
# textblob ships (trained on the Brown corpus and the Penn Treebank); the weights
# were chosen on the dev documents of VADER's four rated sets (bench/tune_sentiment.py).
ADJECTIVE_WEIGHT = 1.4
VERB_WEIGHT = 1.2


@lru_cache(maxsize=1)
def word_classes() -> dict[str, str]:
    """Each word's most frequent Penn Treebank tag ("JJ", "VBD", "NN" ...) in textblob's Brill lexicon."""
    text = resources.files("textblob").joinpath("en").joinpath("en-lexicon.txt").read_text(encoding="utf-8")
    classes: dict[str, str] = {}
    for line in text.splitlines():
        word, _, tags = line.partition(" ")
        if tags and not word.startswith(";;;"):
            classes.setdefault(word, tags.split(None, 1)[0])
    return classes


def class_weight(tag: str | None) -> float:
    """The valence weight of a word of this tag (see ADJECTIVE_WEIGHT)."""
    if tag is None:
        return 1.0
    if tag.startswith("JJ"):
        return ADJECTIVE_WEIGHT
    if tag.startswith("VB"):
        return VERB_WEIGHT
    return 1.0


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
    prior_words: dict[str, set[str]] = {}  # stem -> the words written with a valence prior
    for line in _lines("patterns.txt"):
        dim, prior_text, phrases = line.split("\t")
        weak = dim.endswith("?")
        dim = dim.rstrip("?")
        if dim != "-" and dim not in DIMENSION_NAMES:
            raise ValueError(f"unknown dimension {dim!r} in patterns.txt")
        prior = None if prior_text == "." else ("dur" if prior_text == "dur" else float(prior_text))
        for phrase in phrases.split(", "):
            elements = tuple(_element(tok) for tok in phrase.split())
            if len(elements) == 1 and isinstance(prior, float):
                for alt in phrase.split("|"):
                    prior_words.setdefault(_stem_known(alt), set()).add(normalise_word(alt))
            # a one-word phrase is keyed per stem, so every line naming a word adds to it
            keys = [(frozenset({s}),) for s in elements[0]] if len(elements) == 1 else [elements]
            for key in keys:
                dims, weaks, old_prior = merged.get(key, ([], [], None))
                if dim != "-":
                    (weaks if weak else dims).append(dim)
                merged[key] = (dims, weaks, old_prior if old_prior is not None else prior)
    index: dict[str, list[tuple[tuple, Entry]]] = {}
    for elements, (dims, weaks, prior) in merged.items():
        dims_, weaks_ = tuple(dict.fromkeys(dims)), tuple(dict.fromkeys(weaks))
        if len(elements) == 1 and isinstance(prior, float):
            (stemmed,) = elements[0]
            forms = frozenset(f for word in prior_words[stemmed] for f in inflected_forms(word))
            plain = Entry(dims_, weaks_, None, 1) if dims_ or weaks_ else None
            entry = Entry(dims_, weaks_, prior, 1, forms, plain)
        else:
            entry = Entry(dims_, weaks_, prior, len(elements))
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


_loaded = False


def ensure_loaded() -> None:
    """Load every lexicon now (stemming of new tokens depends on them)."""
    global _loaded
    if not _loaded:
        from voc.sentiment.aspects import aspects  # it reads this module's lexicons

        patterns()
        aspects()
        evaluative_forms()
        evaluative_words()
        _following_index()
        second_stems()
        clear_token_cache()  # forms cached before the stems were known are stale
        _loaded = True


def number_value(norm: str) -> float | None:
    """The numeric value of a number token ("40", "three", "an"), else None."""
    if norm in NUMBER_WORDS:
        return NUMBER_WORDS[norm]
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


Candidates = list[tuple[tuple, Entry]]


def _split_by_following(candidates: Candidates) -> tuple[dict[str, Candidates], Candidates]:
    """The candidates that can still match once the next token's stem is known: (by that stem, for any other).

    Most candidates fail on their second word, so find_matches looks them up by it
    instead of trying each; the order (longest first) is kept.
    """

    def fits(elements: tuple, entry: Entry, following: str | None) -> bool:
        if entry.length == 1:
            return True
        second = elements[1]
        if second.__class__ is frozenset:
            return following in second
        if second == DUR:
            return following in _DURATION_UNITS
        return True  # a gap or a number: the general matcher decides

    by_following = {s: [c for c in candidates if fits(*c, s)] for s in _second_words(candidates)}
    return by_following, [c for c in candidates if fits(*c, None)]


@lru_cache(maxsize=1)
def _following_index() -> dict[str, tuple[dict[str, Candidates], Candidates]]:
    return {first: _split_by_following(candidates) for first, candidates in patterns().items()}


_numeric_index: dict[str, tuple[dict[str, Candidates], Candidates]] = {}


def _numeric_split(first: str) -> tuple[dict[str, Candidates], Candidates]:
    """Candidates for a number token: its own patterns ("one way") and the number patterns ("# hours")."""
    key = first if first in patterns() else NUM  # any other number has only the number patterns
    split = _numeric_index.get(key)
    if split is None:
        index = patterns()
        own = index.get(first, []) if key != NUM else []
        merged = sorted(own + index[NUM], key=lambda item: -item[1].length)
        split = _numeric_index[key] = _split_by_following(merged)
    return split


def _second_words(candidates: Candidates) -> set[str]:
    """The stems that can be the second word of these patterns."""
    words: set[str] = set()
    for elements, entry in candidates:
        if entry.length > 1:
            second = elements[1]
            if second.__class__ is frozenset:
                words.update(second)
            elif second == DUR:
                words.update(_DURATION_UNITS)
    return words


@lru_cache(maxsize=1)
def second_stems() -> frozenset[str]:
    """Stems that are the second word of some pattern: only before one can a pair-only word start a match."""
    return frozenset().union(*(_second_words(candidates) for candidates in patterns().values()))


def pattern_start(norm: str, stemmed: str) -> int:
    """0: the token starts no pattern; 1: it may, whatever follows; 2: only before a second_stems() word."""
    if (norm in NUMBER_WORDS or norm[:1] in DIGIT_CHARS) and number_value(norm) is not None:
        split = _numeric_split(stemmed)
    else:
        split = _following_index().get(stemmed)
        if split is None:
            return 0
    return 1 if split[1] else 2


def may_start_pattern(norm: str, stemmed: str, index: dict | None = None) -> bool:
    """Whether a token could begin a pattern (its stem starts one, or it is a number)."""
    return stemmed in (index or patterns()) or norm in NUMBER_WORDS or norm[:1] in DIGIT_CHARS


def find_matches(
    stems: list[str], norms: list[str], start: int, end: int, hits: list[int] | None = None
) -> list[tuple[int, int, Entry]]:
    """Longest non-overlapping pattern matches in tokens [start, end); hits = candidate starts if known."""
    if hits is None:
        index = patterns()
        hits = [i for i in range(start, end) if may_start_pattern(norms[i], stems[i], index)]
    following_index = _following_index()
    found = []
    free = start  # first token not inside an earlier match
    for i in hits:
        if i < free:
            continue
        norm = norms[i]
        if (norm in NUMBER_WORDS or norm[:1] in DIGIT_CHARS) and number_value(norm) is not None:
            split = _numeric_split(stems[i])
        else:
            split = following_index.get(stems[i])
            if split is None:
                continue
        by_following, others = split
        candidates = by_following.get(stems[i + 1], others) if i + 1 < end else others
        for elements, entry in candidates:
            if entry.length == 1:
                if entry.forms is not None and norm not in entry.forms:
                    entry = entry.plain  # same stem, another word: no prior
                    if entry is None:
                        continue
                stop = i + 1
            else:
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
    words = {line.split("\t", 1)[0] for line in vader.splitlines() if "\t" in line}
    return frozenset(words - neutral)


@lru_cache(maxsize=1)
def evaluative_forms() -> frozenset[str]:
    """The words of our single-word valence priors and their inflections ("slow", "slower", "tasty"): never themes."""
    result: set[str] = set()
    for candidates in patterns().values():
        for _elements, entry in candidates:
            if entry.forms is not None and entry.prior != 0:
                result.update(entry.forms)
    return frozenset(result)
