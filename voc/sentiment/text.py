"""Tokens, and the sentence / clause / segment structure of a text.

Tokens come from str.split() as in VADER, so VADER scores exactly the words we
index; later steps work on index ranges, and spans map back to character
offsets in the caller's original text.

What a token is (its VADER form, normalised form, stem and flags) is worked out
once per word form and cached, never per text: a first pass over new comments
pays for each new word once, with one call to the installed word classifier
(voc.sentiment.words) per new normalised word.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Sequence
from itertools import accumulate

from voc.sentiment.stemming import stem, word_set

MAX_CHARS = 10_000  # longer texts are cut here to bound time per text

# Replaced by spaces of the same length so that offsets stay valid.
_NOISE = re.compile(r"</?[A-Za-z][^<>]{0,300}>|&(?:[A-Za-z]{2,8}|#\d{1,6});|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PUNCT = string.punctuation + "“”‘’«»…–—"
_CLOSERS = "\"')]}’”»"
_ABBREVIATIONS = word_set("mr mrs ms dr st vs etc e.g i.e approx dept jr sr inc ltd co")
_CONTRAST = word_set("but however although though whereas while except")
# A clause introduced by one of these is subordinate: the other clause carries the weight.
_SUBORDINATE = word_set("although though whereas while even")
# A sentence opening with one of these turns against the sentence before ("It made no sense. But they
# treated me like a person."): as with "but" inside a sentence, what follows weighs more.
_TURNS = word_set("but however yet")
_SEGMENT_CONJ = word_set("and & so then because plus as")
_SUBJECTS = word_set(
    "the my our your their his her i i'm i've i'd we we're we've they they're he she it it's its "
    "this that these those there there's you you're nobody noone everyone everybody someone staff "
    "everything nothing no"
)
_PAUSE_END = frozenset(",;:")
_END_CHARS = frozenset(".!?" + _CLOSERS)
_MARK_CHARS = _PAUSE_END | _END_CHARS
_DASHES = frozenset({"-", "–", "—", "--"})
_NEXT_TRIGGERS = _CONTRAST | _SEGMENT_CONJ | {"yet", "even"}

_ASCII_PUNCT = string.punctuation
_STOPS = frozenset(",.;:!?")  # one of these after a word: the word's forms with MARK


def normalise_word(raw: str) -> str:
    """Lowercase a raw token, straighten quotes and strip edge punctuation."""
    return raw.lower().replace("’", "'").replace("‘", "'").strip(_PUNCT)


def vader_word(raw: str) -> str:
    """VADER's token form: edge punctuation stripped unless that leaves <= 2 chars (emoticons)."""
    stripped = raw.strip(string.punctuation)
    return raw if len(stripped) <= 2 else stripped


# Per-token flags, computed once per distinct token so that later passes test a bit.
MARK = 1  # ends with punctuation or is a dash: a unit may end here
TRIGGER = 2  # contrast word, conjunction or dash: a unit may start here
PATTERN = 4  # may start a CX pattern whatever follows
THEME = 8  # may be part of a theme
SENTIMENT = 16  # in VADER's lexicon (lowercase VADER form)
CANDIDATE = 32  # a content word that can stand in a theme phrase
SHIFTER = 64  # a decrease verb or privative word that turns the valence of what follows
PAIR = 128  # starts CX patterns only before particular words ("the" in "the extra mile")
SECOND = 256  # one of those particular words: a PAIR token before it may start a pattern
GENERIC = 512  # a noun too general to be a theme alone ("number", "time"), though it may head a compound

_classify: Callable[[str], tuple[str, int, str]] = lambda norm: (norm, 0, norm)  # noqa: E731
_sentiment_words: frozenset[str] | dict = frozenset()


def set_token_classifier(classify: Callable[[str], tuple[str, int, str]], sentiment_words) -> None:
    """Install the lexicon-dependent word classifier, norm -> (stem, flags, singular), and VADER's words."""
    global _classify, _sentiment_words
    _classify, _sentiment_words = classify, sentiment_words
    clear_token_cache()


# A plain dict read through map(dict.get) costs far less per token than an
# lru_cache call; it is emptied when it grows past a bound, so memory stays flat.
# Both are caches of word forms, never of texts: a first pass classifies every new word.
_FORMS: dict[str, tuple[str, str, str, str, int, str]] = {}
_WORD_FORMS: dict[str, tuple[str, int, str]] = {}  # normalised word -> (lexicon stem, flags, singular)
# About 400 bytes a token (its forms, and its word's): 50,000 tokens hold a large vocabulary with its typos
# in ~20 MB. At 200,000, order numbers and names (a new token in most comments) grew `voc serve` by ~80 MB
# before the first clear: past the 300 MB a process may take (bench/bench_memory.py).
_FORMS_MAX = 50_000


def clear_token_cache() -> None:
    """Forget cached token forms (after a lexicon change, or to time a cold start)."""
    _FORMS.clear()
    _WORD_FORMS.clear()
    stem.cache_clear()


def _word_forms(norm: str) -> tuple[str, int, str]:
    stemmed, flags, singular = _classify(norm)
    if norm in _NEXT_TRIGGERS:
        flags |= TRIGGER
    if norm in _sentiment_words:
        flags |= SENTIMENT  # right for every token whose VADER form is this word lowercased
    known = _WORD_FORMS[norm] = (stemmed, flags, singular)
    return known


def token_forms(raw: str) -> tuple[str, str, str, str, int, str]:
    """(VADER form, its lowercase, normalised form, lexicon stem, flags, singular); cached per raw token."""
    # normalise_word and vader_word inlined: this runs once for every new token of a first pass
    low = raw.lower()
    if raw.isalpha():  # most tokens: nothing to strip, no punctuation mark
        forms = (raw, low, low) + (_WORD_FORMS.get(low) or _word_forms(low))
    elif raw[-1] in _STOPS and len(raw) > 3 and raw[:-1].isalpha():  # "word,", "word.": the next commonest
        word, low = raw[:-1], low[:-1]
        stemmed, flags, singular = _WORD_FORMS.get(low) or _word_forms(low)
        forms = (word, low, low, stemmed, flags | MARK, singular)
    else:
        norm = (low if low.isascii() else low.replace("’", "'").replace("‘", "'")).strip(_PUNCT)
        stripped = raw.strip(_ASCII_PUNCT)
        if len(stripped) <= 2:
            word, lower = raw, low
        else:
            word = stripped
            lower = stripped.lower()
        # shared by "Great", "great," and "great!": stemming and lexicon tests run once per word
        stemmed, flags, singular = _WORD_FORMS.get(norm) or _word_forms(norm)
        if lower != norm:
            flags = (flags | SENTIMENT) if lower in _sentiment_words else (flags & ~SENTIMENT)
        if raw[-1] in _MARK_CHARS:
            flags |= MARK
        if raw in _DASHES:
            flags |= MARK | TRIGGER
        forms = (word, lower, norm, stemmed, flags, singular)
    _FORMS[raw] = forms
    return forms


def clean_text(text: object) -> str:
    """Coerce to str, cut at MAX_CHARS and blank out HTML tags and control characters."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = text[:MAX_CHARS]
    if "<" in text or "&" in text or not text.isprintable():
        text = _NOISE.sub(lambda m: " " * len(m.group()), text)
    return text


class Tokens:
    """Parallel per-token sequences of one text, plus its clause and segment ranges.

    Character offsets are found only when asked for (spans, line breaks): many
    comments never need them.
    """

    __slots__ = (
        "text", "raws", "words", "lowers", "norms", "stems", "flags", "singulars", "clauses", "segments",
        "_offsets", "_ends",
    )

    def __init__(self, text, raws, words, lowers, norms, stems, flags, singulars, offsets=None) -> None:
        self.text = text
        self.raws: list[str] = raws
        self.words: Sequence[str] = words  # VADER forms
        self.lowers: Sequence[str] = lowers  # VADER forms, lowercase
        self.norms: Sequence[str] = norms
        self.stems: Sequence[str] = stems
        self.flags: Sequence[int] = flags
        self.singulars: Sequence[str] = singulars  # a content word's singular, for theme labels
        self._offsets: tuple[list[int], list[int]] | None = offsets
        self._ends: list[int] | None = None  # cumulative token lengths when the text is the tokens joined by spaces
        self.clauses: list[tuple[int, int, float, int]] = []  # (first token, end token, weight, sentence)
        self.segments: list[tuple[int, int, int]] = []  # (first token, end token, clause index)

    @property
    def starts(self) -> list[int]:
        """Start offset of each token in the text."""
        return self._find_offsets()[0]

    @property
    def ends(self) -> list[int]:
        """End offset of each token in the text."""
        return self._find_offsets()[1]

    def bounds(self, first: int, last: int) -> tuple[int, int]:
        """Start offset of token first and end offset of token last."""
        if self._offsets is None:
            if self._ends is None:
                raws = self.raws
                if self.text != " ".join(raws):
                    starts, ends = self._find_offsets()
                    return starts[first], ends[last]
                # one space between tokens (most comments): offsets follow from the lengths alone
                self._ends = list(accumulate(map(len, raws)))
            ends = self._ends
            return (ends[first - 1] + first if first else 0), ends[last] + last
        starts, ends = self._offsets
        return starts[first], ends[last]

    def _find_offsets(self) -> tuple[list[int], list[int]]:
        if self._offsets is None:
            self._offsets = _offsets(self.text, self.raws)
        return self._offsets


def _offsets(text: str, raws: list[str]) -> tuple[list[int], list[int]]:
    # the tokens came from str.split(), so find() walks them in order
    starts: list[int] = []
    position = 0
    find = text.find
    for raw in raws:
        position = find(raw, position)
        starts.append(position)
        position += len(raw)
    return starts, [start + len(raw) for start, raw in zip(starts, raws, strict=True)]


def tokenize(text: str, emoji: dict[str, str] | None = None) -> Tokens:
    """Split a cleaned text into tokens, sentences, weighted clauses and segments.

    With emoji (VADER's emoji -> description map), an emoji becomes VADER's description words
    (as VADER does), kept at the emoji's offsets but hidden from dimensions and themes.
    """
    raws = text.split()  # how VADER tokenises
    offsets = None
    hidden: set[int] = set()
    if emoji is not None and not text.isascii() and not emoji.keys().isdisjoint(text):
        starts, ends = _offsets(text, raws)
        starts, ends, raws, hidden = _expand_all_emoji(starts, ends, raws, emoji)
        offsets = (starts, ends)
    forms = list(map(_FORMS.get, raws))
    if not all(forms):
        if len(_FORMS) >= _FORMS_MAX:
            _FORMS.clear()
            _WORD_FORMS.clear()
        forms = [form or token_forms(raw) for form, raw in zip(forms, raws, strict=True)]
    if not forms:
        words = lowers = norms = stems = flags = singulars = ()
    else:
        words, lowers, norms, stems, flags, singulars = zip(*forms, strict=False)  # all 6 long; tuples: read-only
    if hidden:
        norms, stems, flags = list(norms), list(stems), list(flags)
        for i in hidden:
            norms[i] = stems[i] = ""
            flags[i] &= SENTIMENT
    tokens = Tokens(text, raws, words, lowers, norms, stems, flags, singulars, offsets)
    tokens.clauses, tokens.segments = _structure(tokens)
    return tokens


def _expand_all_emoji(starts, ends, raws, emoji):
    new_starts: list[int] = []
    new_ends: list[int] = []
    new_raws: list[str] = []
    hidden: set[int] = set()
    for start, end, raw in zip(starts, ends, raws, strict=True):
        if not raw.isascii() and not emoji.keys().isdisjoint(raw):
            _expand_emoji(raw, start, end, emoji, new_starts, new_ends, new_raws, hidden)
        else:
            new_starts.append(start)
            new_ends.append(end)
            new_raws.append(raw)
    return new_starts, new_ends, new_raws, hidden


def _expand_emoji(raw, start, end, descriptions, starts, ends, raws, hidden) -> None:
    plain = ""
    pieces: list[tuple[str, bool]] = []
    for ch in raw:
        if ch in descriptions:
            if plain:
                pieces.append((plain, False))
                plain = ""
            pieces.extend((word, True) for word in descriptions[ch].split())
        else:
            plain += ch
    if plain:
        pieces.append((plain, False))
    for piece, is_emoji in pieces:
        if is_emoji:
            hidden.add(len(raws))
        starts.append(start)
        ends.append(end)
        raws.append(piece)


def _ends_sentence(raw: str, norm: str) -> bool:
    tail = raw.rstrip(_CLOSERS)
    return bool(tail) and tail[-1] in ".!?" and norm not in _ABBREVIATIONS


def _structure(tokens: Tokens):
    """Group tokens into sentences, then clauses (contrast) and segments (pauses)."""
    text, raws, norms, flags = tokens.text, tokens.raws, tokens.norms, tokens.flags
    n = len(raws)
    clauses: list[tuple[int, int, float, int]] = []
    segments: list[tuple[int, int, int]] = []
    if not n:
        return clauses, segments
    # Only tokens at punctuation or before a trigger word can end a unit; visit just those.
    marks = [i for i in range(n - 1) if flags[i] & MARK or flags[i + 1] & TRIGGER]
    line_breaks: set[int] = set()
    if "\n" in text:
        starts, ends = tokens.starts, tokens.ends
        line_breaks = {i for i in range(n - 1) if "\n" in text[ends[i]:starts[i + 1]]}
        marks = sorted(line_breaks.union(marks))
    marks.append(n - 1)
    sentence = clause_start = seg_start = first_clause_of_sentence = previous_sentence_clause = 0
    # a clause opening with "although" is subordinate until its first pause
    subordinate_open = norms[0] in _SUBORDINATE
    weight = 0.5 if subordinate_open else 1.0
    for i in marks:
        raw, norm = raws[i], norms[i]
        boundary = None
        if (
            i == n - 1
            or (raw[-1] in _END_CHARS and _ends_sentence(raw, norm))
            or i in line_breaks
        ):
            clauses.append((clause_start, i + 1, weight, sentence))
            segments.append((seg_start, i + 1, len(clauses) - 1))
            sentence += 1
            weight = 1.0
            previous_sentence_clause, first_clause_of_sentence = first_clause_of_sentence, len(clauses)
            boundary = "clause"
            if i + 1 < n and norms[i + 1] in _TURNS:
                for k in range(previous_sentence_clause, len(clauses)):
                    a, b, w, s = clauses[k]
                    clauses[k] = (a, b, w * 0.5, s)
                weight = 1.5
        else:
            nxt = norms[i + 1]
            semicolon = raw[-1] == ";"
            pause = raw[-1] in _PAUSE_END or raws[i + 1] in _DASHES or raw in _DASHES
            if (
                semicolon
                or nxt in _CONTRAST
                or (nxt == "yet" and (raw[-1] == "," or norm == "and"))
                or (nxt == "even" and i + 2 < n and norms[i + 2] == "though")
            ):
                clauses.append((clause_start, i + 1, weight, sentence))
                segments.append((seg_start, i + 1, len(clauses) - 1))
                if semicolon:
                    weight = 1.0
                elif nxt in _SUBORDINATE:
                    weight = 0.5
                else:
                    # VADER's "but" rule, per clause: what follows outweighs what came before
                    for k in range(first_clause_of_sentence, len(clauses)):
                        a, b, w, s = clauses[k]
                        clauses[k] = (a, b, w * 0.5, s)
                    weight = 1.5
                boundary = "clause"
            elif pause and subordinate_open:
                clauses.append((clause_start, i + 1, weight, sentence))
                segments.append((seg_start, i + 1, len(clauses) - 1))
                weight = 1.0
                boundary = "clause"
            elif pause or (nxt in _SEGMENT_CONJ and i + 2 < n and norms[i + 2] in _SUBJECTS):
                segments.append((seg_start, i + 1, len(clauses)))
                seg_start = i + 1
        if boundary:
            clause_start = seg_start = i + 1
            subordinate_open = clause_start < n and norms[clause_start] in _SUBORDINATE
            if subordinate_open:
                weight = 0.5
    return clauses, segments
