"""Themes: the topics of a comment, named as a person would name them, so that variants of one topic meet.

Without POS-tagger data (voc.sentiment.aspects tells nouns from other words), a theme is, in this order:
- a CX aspect of the shipped list (data/themes.txt), which names it and merges its near-synonyms:
  "queue", "on hold" and "waited" are all "wait time";
- a compound of two nouns ("battery life", "order number", "DVD player"), its head in the singular;
- a single noun that is a topic by itself ("invoice", "camera"); nouns too general to be one alone
  ("number", "person", "time") count only inside a compound, and empty ones ("sense") never.
Sentiment words, stopwords and words that are not nouns ("left", "second", "long") are never themes.

theme_key() is the label's canonical form in lower case ("Deliveries" -> "delivery", "DVDs" -> "dvd"):
the key the dashboard groups by and the explorer filters on, readable in a URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from voc.sentiment.aspects import aspects, written_label
from voc.sentiment.lexicon import ensure_loaded
from voc.sentiment.stemming import word_set
from voc.sentiment.text import CANDIDATE, GENERIC, THEME, Tokens, normalise_word
from voc.sentiment.words import word_classifier

MAX_THEMES = 5
_PAUSE = (",", ";", ":", ".", "!", "?", ")")
_LISTED, _COMPOUND_WEIGHT, _NOUN = 2.0, 1.6, 1.0  # a named aspect outweighs a compound, which outweighs a noun
# Where a word the lexicon calls a noun is a verb or an adjective: after a modal or "do" ("can't figure
# out", "didn't drive"), after an intensifier ("very light"), and after "to" with an object, a particle or
# a number next ("had to drive to the depot", "to drive 20 miles").
_MODALS = word_set(
    "can can't cannot could couldn't will won't would wouldn't should shouldn't must might may do don't does "
    "doesn't did didn't i'll i'd we'll we'd you'll you'd they'll they'd he'll she'll it'll"
)
_INTENSIFIERS = word_set("very so too quite really pretty extremely fairly incredibly super rather")  # "very light"
_AFTER_VERB = word_set(
    "the a an my your our their his her its this that these those them it me us him you to back up out off "
    "down over around through away"
)


def _listed_at(starts: dict, norms: Sequence[str], raws: Sequence[str], i: int, stop: int) -> tuple[int, str | None]:
    """(length, label) of the longest aspect variant starting at token i, or (0, None)."""
    entries = starts.get(norms[i])
    if entries is None:
        norm = norms[i]
        if not norm.endswith("'s") or (entries := starts.get(norm[:-2])) is None:  # "the courier's van"
            return 0, None
    for rest, label in entries:  # longest first
        size = len(rest) + 1
        if i + size > stop:
            continue
        for k, forms in enumerate(rest):
            if norms[i + 1 + k] not in forms or raws[i + k].endswith(_PAUSE):
                break
        else:
            return size, label
    return 0, None


def _in_idiom(idioms: dict, norms: Sequence[str], i: int) -> bool:
    """Whether token i ends a phrase in which it is no topic ("in order", "in person")."""
    befores = idioms.get(norms[i])
    return befores is not None and any(i >= len(b) and tuple(norms[i - len(b):i]) == b for b in befores)


def _label(raw: str, word: str) -> str:
    return word if raw.islower() else written_label(raw, word)


def _scores(norms: Sequence[str], raws: Sequence[str], singulars: Sequence[str], flags: Sequence[int],
            interesting: Sequence[int]) -> dict[str, tuple[str, float]]:
    """Theme labels by lower-case key, each with its summed weight, in order of first appearance."""
    lexicon = aspects()
    starts, idioms, head_only = lexicon.starts, lexicon.idioms, lexicon.head
    stop = len(flags)
    found: dict[str, tuple[str, float]] = {}

    def add(label: str, weight: float) -> None:
        key = label.lower()
        known = found.get(key)
        found[key] = (known[0], known[1] + weight) if known else (label, weight)

    free = 0  # first token not inside an earlier theme
    for i in interesting:
        if i < free:
            continue
        free = i + 1
        if _in_idiom(idioms, norms, i):
            continue
        norm = norms[i]
        size, label = _listed_at(starts, norms, raws, i, stop) if norm in starts or "'" in norm else (0, None)
        if size > 1:
            add(label, _LISTED + 0.5 * (size - 1))
            free = i + size
            continue
        flag = flags[i]
        j = i + 1
        if label is None and i and (norms[i - 1] in _MODALS or norms[i - 1] in _INTENSIFIERS
                                    or (norms[i - 1] == "to" and j < stop
                                        and (norms[j] in _AFTER_VERB or norms[j][:1].isdigit()))):
            continue  # a verb or an adjective, not a noun
        if (
            flag & CANDIDATE
            and j < stop
            and flags[j] & CANDIDATE
            and not raws[i].endswith(_PAUSE)
            and not norm.endswith("'s")  # "the courier's van": two topics, not one
            and singulars[i] not in head_only
            and not _in_idiom(idioms, norms, j)
            and (norms[j] not in starts or _listed_at(starts, norms, raws, j, stop)[0] < 2)
        ):
            # the first noun stays as written ("sales team"), the head is singular ("delivery drivers")
            add(_label(raws[i], norm) + " " + _label(raws[j], singulars[j]), _COMPOUND_WEIGHT)
            free = j + 1
        elif label is not None:
            add(label, _LISTED)
        elif flag & CANDIDATE and not flag & GENERIC:
            add(_label(raws[i], singulars[i]), _NOUN)
    return found


def extract_themes(tokens: Tokens, limit: int = MAX_THEMES) -> tuple[str, ...]:
    """Up to `limit` theme labels of a tokenised text, strongest first."""
    flags = tokens.flags
    interesting = [j for j, f in enumerate(flags) if f & THEME]
    if not interesting:
        return ()
    found = _scores(tokens.norms, tokens.raws, tokens.singulars, flags, interesting)
    # a reversed sort is stable: equal weights keep their order of appearance
    ranked = sorted(found.values(), key=lambda item: item[1], reverse=True)
    return tuple(label for label, _weight in ranked[:limit])


@lru_cache(maxsize=16_384)
def theme_key(phrase: str) -> str:
    """The key of a theme label or of any phrase: its themes' canonical forms, lower case ("" for none).

    "Deliveries" and "delivered late" -> "delivery"; "queue" -> "wait time"; "DVD players" -> "dvd player";
    "sense" -> "". A key is its own key."""
    ensure_loaded()
    classify = word_classifier()
    raws = str(phrase).split()
    forms = [classify(normalise_word(raw)) for raw in raws]
    flags = [word_flags for _stem, word_flags, _singular in forms]
    interesting = [i for i, f in enumerate(flags) if f & THEME]
    norms = [normalise_word(raw) for raw in raws]
    singulars = [singular for _stem, _flags, singular in forms]
    return " ".join(_scores(norms, raws, singulars, flags, interesting))
