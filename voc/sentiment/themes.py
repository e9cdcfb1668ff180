"""Themes: key phrases of a comment, normalised so that variants of one topic meet.

Without POS-tagger data, a theme is either a phrase from the shipped CX theme
list (data/themes.txt, matched on stems, which also gives a readable label) or a
run of one or two content words: not a stopword, not a sentiment word, not an
adverb or an -ed/-ing verb form. theme_key() builds the aggregation key from
Snowball stems, so "delivery", "deliveries" and "delivered late" share the key
"delivery".
"""

from __future__ import annotations

from functools import lru_cache

from voc.sentiment.lexicon import ensure_loaded, theme_map
from voc.sentiment.stemming import stem
from voc.sentiment.text import CANDIDATE, THEME, Tokens, normalise_word
from voc.sentiment.words import word_classifier

MAX_THEMES = 5
_PAUSE = (",", ";", ":", ".", "!", "?", ")")


def _phrases(singulars, stems, raws, flags, start: int, stop: int, interesting: list[int]):
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
                    found.append((singulars[i] + " " + singulars[i + 1], 1.3, False))
                    free = i + 2
                else:
                    found.append((singulars[i], 1.0, False))
                    free = i + 1
    return found


def extract_themes(tokens: Tokens, limit: int = MAX_THEMES) -> tuple[str, ...]:
    """Up to `limit` theme labels of a tokenised text, strongest first."""
    # _phrases' rules, adding up the scores as it goes: this runs for every comment.
    # Phrases stop at punctuation and at stopwords, so they never cross a segment.
    flags = tokens.flags
    interesting = [j for j, f in enumerate(flags) if f & THEME]
    if not interesting:
        return ()
    themes = theme_map()
    stems, singulars, raws = tokens.stems, tokens.singulars, tokens.raws
    stop = len(flags)
    scores: dict[str, float] = {}  # in order of first appearance
    get = scores.get
    free = 0  # first token not inside an earlier phrase
    for i in interesting:
        if i < free:
            continue
        listed = themes.get(stems[i])
        if listed is not None:
            for key, label in listed:
                size = len(key)
                if i + size <= stop and (size == 1 or tuple(stems[i:i + size]) == key):
                    scores[label] = get(label, 0.0) + (2.0 + 0.5 * (size - 1))
                    free = i + size
                    break
            else:
                listed = None
            if listed is not None:
                continue
        if flags[i] & CANDIDATE:
            if i + 1 < stop and flags[i + 1] & CANDIDATE and not raws[i].endswith(_PAUSE):
                label = singulars[i] + " " + singulars[i + 1]
                scores[label] = get(label, 0.0) + 1.3
                free = i + 2
            else:
                label = singulars[i]
                scores[label] = get(label, 0.0) + 1.0
                free = i + 1
    if len(scores) <= 1:
        return tuple(scores)
    # a reversed sort is still stable: equal scores keep their order of appearance
    return tuple(sorted(scores, key=scores.__getitem__, reverse=True)[:limit])


@lru_cache(maxsize=16_384)
def theme_key(phrase: str) -> str:
    """Aggregation key of a theme phrase: "Deliveries", "delivered late" -> "delivery"."""
    ensure_loaded()
    classify = word_classifier()
    raws = str(phrase).split()
    forms = [classify(normalise_word(raw)) for raw in raws]
    stems = [stemmed for stemmed, _flags, _singular in forms]
    flags = [word_flags for _stem, word_flags, _singular in forms]
    singulars = [word for _stem, _flags, word in forms]
    interesting = [i for i, f in enumerate(flags) if f & THEME]
    keys = [
        label if listed else " ".join(stem(word) for word in label.split())
        for label, _weight, listed in _phrases(singulars, stems, raws, flags, 0, len(raws), interesting)
    ]
    return " ".join(dict.fromkeys(keys))
