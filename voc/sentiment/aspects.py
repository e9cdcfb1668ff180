"""What may be a theme: the shipped CX aspects (data/themes.txt), the nouns that are no topic
(data/non_topics.txt), and which words are nouns.

Without POS-tagger data, a word's part of speech is its most frequent tag in the Brill lexicon that
textblob ships (lexicon.word_classes): "left", "second", "overall" and "long" are no nouns, so they are
never themes. A word the lexicon does not know (a brand, a product: "iPod", "DVD") counts as a noun
unless it looks like an adverb or a verb form. Aspects match on written forms, not on Snowball stems,
which fold "packaging" into "package" and "experienced" into "experience".
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import lru_cache

from voc.sentiment.lexicon import _lines, _register_stems, _stem_known, word_classes
from voc.sentiment.text import normalise_word

_NOT_NOUN = ("ly", "ed", "ing", "n't")  # endings of an unknown word that is likely no noun
_SIBILANT = ("s", "x", "z", "ch", "sh")
_EDGE = string.punctuation + "“”‘’«»…–—"
_ACRONYM = 5  # an unknown word in capitals up to this long is an acronym, longer ones are shouted


def plural(word: str) -> str:
    """The regular plural of a noun: "parcel" -> "parcels", "box" -> "boxes", "delivery" -> "deliveries"."""
    if word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(_SIBILANT):
        return word + "es"
    return word + "s"


@dataclass(frozen=True)
class Aspects:
    """The theme lexicons, loaded once."""

    # first word's form -> [(forms of each later word, label)], longest first
    starts: dict[str, list[tuple[tuple[frozenset[str], ...], str]]]
    never: frozenset[str]  # never part of a theme
    alone: frozenset[str]  # a theme only as part of a compound
    head: frozenset[str]  # a theme only as the last word of a compound
    idioms: dict[str, list[tuple[str, ...]]]  # last word -> the words before it


def _variant_forms(variant: str) -> tuple[frozenset[str], ...]:
    exact = variant.endswith("=")
    words = [normalise_word(word) for word in variant.rstrip("=").split()]
    forms = [frozenset({word}) for word in words]
    if not exact and words:
        forms[-1] = frozenset({words[-1], plural(words[-1])})
    return tuple(forms)


@lru_cache(maxsize=1)
def aspects() -> Aspects:
    """The shipped aspect lexicon and non-topic lists."""
    starts: dict[str, list[tuple[tuple[frozenset[str], ...], str]]] = {}
    seen: dict[tuple[frozenset[str], ...], str] = {}
    for line in _lines("themes.txt"):
        label, variants = (part.strip() for part in line.split(":", 1))
        for variant in (label, *(v.strip() for v in variants.split(","))):
            forms = _variant_forms(variant)
            if not forms or seen.setdefault(forms, label) != label:
                continue  # the label itself, or a variant an earlier label already claims
            for first in forms[0]:
                entries = starts.setdefault(first, [])
                if (forms[1:], label) not in entries:
                    entries.append((forms[1:], label))
            # the stems of aspect words stay known to the stemmer, as the analyser has always had them
            _register_stems(tuple(_stem_known(word) for word in variant.rstrip("=").split()))
    for entries in starts.values():
        entries.sort(key=lambda entry: -len(entry[0]))
    lists: dict[str, list[str]] = {"never": [], "alone": [], "head": [], "idioms": []}
    for line in _lines("non_topics.txt"):
        kind, words = (part.strip() for part in line.split(":", 1))
        lists[kind].extend(words.split(",") if kind == "idioms" else words.split())
    idioms: dict[str, list[tuple[str, ...]]] = {}
    for idiom in lists["idioms"]:
        *before, last = idiom.split()
        idioms.setdefault(last, []).append(tuple(before))
    head = frozenset(lists["head"])
    return Aspects(starts, frozenset(lists["never"]), frozenset(lists["alone"]) | head, head, idioms)


@lru_cache(maxsize=1)
def _tags() -> dict[str, str]:
    return word_classes()


def noun_singular(norm: str) -> str | None:
    """The singular of a word used as a noun ("deliveries" -> "delivery", "DVDs" -> "dvd"), or None for no noun."""
    tags = _tags()
    tag = tags.get(norm)
    if tag is None:
        tag = tags.get(norm.capitalize()) or tags.get(norm.upper())  # a name or an acronym: "Christmas", "TV"
        if tag is not None:
            return norm if tag.startswith("NN") else None
        if norm.endswith(_NOT_NOUN):
            return None
        if norm.endswith("s") and not norm.endswith(("ss", "us", "is")) and len(norm) > 3:
            return _known_singular(norm) or norm[:-1]
        return norm
    if not tag.startswith("NN"):
        return None
    if tag == "NNS":
        return _known_singular(norm) or norm
    return norm


def _known_singular(norm: str) -> str | None:
    """The singular of a plural that the lexicon knows ("movies" -> "movie", "glasses" -> "glass"), else None."""
    tags = _tags()
    candidates = []
    if norm.endswith("ies"):
        candidates.append(norm[:-3] + "y")
    if norm.endswith("es"):
        candidates.append(norm[:-2])
    if norm.endswith("s"):
        candidates.append(norm[:-1])
    nouns = [word for word in candidates if tags.get(word, "").startswith("NN")]
    # "taps": "tap" is most often a verb, but still the singular
    return (nouns or [word for word in candidates if word in tags] or [None])[0]


def written_label(raw: str, word: str) -> str:
    """How a theme word is shown: in lower case, unless the lexicon does not know it and the writer used
    capitals: an acronym or a name keeps them ("DVD", "iPod", "Sony"; "DVDs" -> "DVD")."""
    written = raw.strip(_EDGE)
    if written.islower() or word in _tags() or (written.isupper() and len(written) > _ACRONYM):
        return word
    return written[: len(word)] if written.lower().startswith(word) else word
