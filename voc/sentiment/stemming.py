"""Snowball stems, computed only where they can matter: for words of our lexicons.

Snowball costs tens of microseconds per new word, and only stems that occur in
our lexicons matter. So a token is looked up among the lexicons' own surface
words first (KNOWN_FORMS), and Snowball runs only when the token is a lexicon
stem plus an ending Snowball strips; any other word is left as it is. The
lexicon module fills KNOWN_FORMS and LEXICON_STEMS when it loads.
"""

from __future__ import annotations

import sys
from functools import lru_cache


def _snowball() -> type:
    """NLTK's SnowballStemmer. Importing NLTK imports scipy and numpy whenever they are installed (voc's test
    tools bring them): 1.3 s and about 70 MB for every process, for functions voc never calls. They are hidden
    while NLTK loads (it does without them, as it does where they are not installed) and put back after."""
    if "nltk" in sys.modules:
        from nltk.stem.snowball import SnowballStemmer

        return SnowballStemmer
    hidden = {name: sys.modules.get(name) for name in ("numpy", "scipy")}
    sys.modules.update(dict.fromkeys(hidden))  # None: "import numpy" raises ImportError
    try:
        from nltk.stem.snowball import SnowballStemmer
    finally:
        for name, module in hidden.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    return SnowballStemmer


SnowballStemmer = _snowball()


def word_set(words: str) -> frozenset[str]:
    """A frozenset of whitespace-separated words (keeps long word lists readable)."""
    return frozenset(words.split())


_stemmer = SnowballStemmer("english")


# Snowball folds these into words of another meaning ("lovely" -> "love", a
# feeling; "lately" -> "late", a delay); they keep their own form instead.
_OWN_STEM = word_set("lovely lovelier loveliest lately hardly likely unlikely barely shortly")


@lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """Snowball stem of a lowercase word (hyphenated words part by part)."""
    if word in _OWN_STEM:
        return word
    if "-" in word:
        return "-".join(_stem_one(part) for part in word.split("-"))
    return _stem_one(word)


def _stem_one(word: str) -> str:
    stemmed = _stemmer.stem(word)
    # Snowball leaves "deliveri" (delivery) apart from "deliv" (delivered)
    return stemmed[:-3] if len(stemmed) >= 7 and stemmed.endswith("eri") else stemmed


KNOWN_FORMS: dict[str, str] = {}  # surface word -> its Snowball stem
LEXICON_STEMS: dict[str, str] = {}  # stems, their "y" forms ("happy") and "e"-less forms ("mov") -> stem
# What can follow a stem inside an English word (Snowball's endings, alone and
# combined: "ful", "fully", "fulness" ...): every ending seen at least 3 times
# over VADER's lexicon and a general English vocabulary. A word is worth
# stemming only if it is a lexicon stem plus one of these.
_ENDINGS = word_set(
    "'s abilities ability able ableness ables ably al al's alism alities ality alization "
    "alize alized alizes alizing ally alness als ance ances ancies ancy ant ant's antly ants "
    "ate ated ately ateness ates ating atingly ation ation's ational ations ative atively "
    "ativeness atives ator ators bed bing d ded ding e e's eable ed edly eds eer eered "
    "eering eers eful efully efulness eing ely ement ements ence ences encies ency eness "
    "enesses ent ented enting ently ents eous eously eousness er er's ered erie eries ering "
    "ers ery es es's fed fing ful fully fulness fulnesses ged ging ibilities ibility ible "
    "ibly ic ical ically icate icated ication ications iced icity ics ies ing ing's ingly "
    "ings ion ion's ional ionally ioned ioning ions ism isms ities ity ity's ive ively "
    "iveness ivenesses ives ivities ivity ization izations ize ized izer izers izes izing l "
    "l's lation led ler ler's lers lic lies ling lingly ls ly med ment ment's ments ming ned "
    "ness nesses ning nings or ors ous ously ousness ped ping pingly pings red ring s s's "
    "ted ting tingly y"
) | {""}


_LONGEST_ENDING = max(map(len, _ENDINGS))
_INFLECTIONS = word_set("s es 's s' ed ing ings ly ingly edly")
_SURE = 4  # stems at least this long take a plain inflection without asking Snowball
_SHORT = 3  # a stem this short only takes a short ending ("gut-ted", not "not-iced")


_prefix_cache: tuple[int, frozenset[str], frozenset[str], frozenset[str]] = (-1, frozenset(), frozenset(), frozenset())


def stem_prefixes() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """A quick reject: first five letters of the longer lexicon stems, the 4-letter stems, the shorter ones."""
    global _prefix_cache
    if _prefix_cache[0] != len(LEXICON_STEMS):  # the lexicons register stems as they load
        _prefix_cache = (
            len(LEXICON_STEMS),
            frozenset(s[:5] for s in LEXICON_STEMS if len(s) >= 5),
            frozenset(s for s in LEXICON_STEMS if len(s) == 4),
            frozenset(s for s in LEXICON_STEMS if len(s) < 4),
        )
    return _prefix_cache[1:]


def lexicon_stem(norm: str) -> str:
    """Snowball stem of a word that may match a lexicon stem ("waited" -> "wait"), else the word."""
    if not norm:
        return ""
    known = KNOWN_FORMS.get(norm)
    if known is not None:
        return known
    if "-" in norm:
        # "hassle-free" is stemmed part by part, like the lexicon's own hyphenated words
        return "-".join(lexicon_stem(part) for part in norm.split("-"))
    n = len(norm)
    long_prefixes, four_letter_stems, short_stems = stem_prefixes()
    # a stem of 5+ letters shares the word's first five, one of 4 is its first four, and
    # a shorter one takes at most 4 more letters
    if (
        norm[:5] not in long_prefixes
        and norm[:4] not in four_letter_stems
        and (n > _SHORT + 4 or (norm[:3] not in short_stems and norm[:2] not in short_stems))
    ):
        return norm  # no lexicon stem starts this word
    stems = LEXICON_STEMS
    for k in range(max(2, n - _LONGEST_ENDING), n + 1):
        ending = norm[k:]
        if ending in _ENDINGS and norm[:k] in stems and (k > _SHORT or n - k <= 4):
            if k >= _SURE and ending in _INFLECTIONS:
                # a plain inflection of a long stem: Snowball would strip just that
                return stems[norm[:k]]
            return stem(norm)
    return norm
