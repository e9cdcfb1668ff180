"""Free-text comments for the demo data set (`voc demo`).

Comments are composed by code from hand-written clauses so that several thousand of
them read like different customers in their own voices. Each clause belongs to one
touchpoint, one of Bernd Schmitt's experiential dimensions (sense, feel, think, act,
relate) and one polarity. A comment takes one to three clauses, joined with
connectives ("and", "but", ", although" ...), sometimes of mixed polarity, and may
carry a short context sentence, an opener, a closer, a number, an exclamation, a
typo or all-lowercase typing.

The customer's underlying satisfaction (``mood`` in [-1, 1]) decides the main
polarity; a small share of comments deliberately disagree with it (score-text
mismatches for the dashboard), about 15% of calls leave no comment at all and a few
are terse ("fine", "ok thanks", "n/a").

Everything random comes from the ``random.Random`` the caller passes in, so the same
seed gives the same sequence of comments. Only lists and tuples are iterated (never
sets), which keeps the output independent of hash randomisation.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from importlib import resources

__all__ = [
    "CONTEXTS",
    "DIMENSIONS",
    "GENERIC_TOPICS",
    "POLARITIES",
    "TOUCHPOINT_TOPICS",
    "GeneratedComment",
    "comment_for",
    "generate_comment",
]


def _frozen(value):  # noqa: ANN001, ANN202 - JSON lists back to the tuples the code was written for
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return {k: _frozen(v) for k, v in value.items()}
    return value


# The hand-written clauses and word lists live in a data file beside this module.
_FRAGMENTS = _frozen(json.loads(resources.files(__package__).joinpath("fragments.json").read_text("utf-8")))

DIMENSIONS: tuple[str, ...] = ("sense", "feel", "think", "act", "relate")
POLARITIES: tuple[str, ...] = ("positive", "negative")

# Topic fragments: touchpoint -> dimension -> polarity -> clauses.
# A clause is a lower-case declarative clause without final punctuation, so it can
# stand alone or follow "and", "but", ", although" or "Only complaint is that".
# Placeholders in braces are filled with numbers and names (see _fill).
Topics = dict[str, dict[str, tuple[str, ...]]]

TOUCHPOINT_TOPICS = _FRAGMENTS['TOUCHPOINT_TOPICS']

# Fallback for touchpoint keys the demo does not know.
GENERIC_TOPICS = _FRAGMENTS['GENERIC_TOPICS']

# Which dimensions customers tend to talk about at each touchpoint (relative weights,
# in DIMENSIONS order). Every dimension stays possible everywhere.
_DIMENSION_WEIGHTS = _FRAGMENTS['_DIMENSION_WEIGHTS']
_EQUAL_WEIGHTS: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 1.0)

# Neutral context sentences that sometimes open a comment.
CONTEXTS = _FRAGMENTS['CONTEXTS']

_OPENERS = _FRAGMENTS['_OPENERS']
# Lead-ins glued to the first clause ("Honestly, the box ...").
_LEAD_INS = _FRAGMENTS['_LEAD_INS']

_CLOSERS = _FRAGMENTS['_CLOSERS']

_JOIN_SAME = _FRAGMENTS['_JOIN_SAME']
# The clause after these carries the main point ("minor but MAJOR").
_JOIN_CONTRAST = _FRAGMENTS['_JOIN_CONTRAST']
# The clause after these is a concession ("MAJOR, although minor"), by polarity of the minor clause.
_JOIN_CONCESSION = _FRAGMENTS['_JOIN_CONCESSION']

_TERSE = _FRAGMENTS['_TERSE']

_TYPOS = _FRAGMENTS['_TYPOS']

_ITEMS = _FRAGMENTS['_ITEMS']
_SEARCHES = _FRAGMENTS['_SEARCHES']
_AGENTS = _FRAGMENTS['_AGENTS']
_TIMES = _FRAGMENTS['_TIMES']

_FILLERS = {
    "min": lambda r: str(r.choice((5, 8, 10, 12, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 75, 90))),
    "hours": lambda r: str(r.randint(2, 6)),
    "days": lambda r: str(r.randint(2, 12)),
    "weeks": lambda r: str(r.randint(2, 6)),
    "years": lambda r: str(r.randint(2, 15)),
    "n": lambda r: str(r.randint(3, 7)),
    "order": lambda r: str(r.randint(10000, 99999)),
    "ticket": lambda r: str(r.randint(10000, 99999)),
    "invoice": lambda r: str(r.randint(100000, 999999)),
    "amount": lambda r: f"${r.randint(3, 80)}.{r.randint(0, 99):02d}",
    "pct": lambda r: str(r.choice((10, 15, 20, 25, 30, 40, 50))),
    "miles": lambda r: str(r.randint(40, 400)),
    "times": lambda r: r.choice(_TIMES),
    "item": lambda r: r.choice(_ITEMS),
    "search": lambda r: r.choice(_SEARCHES),
    "agent": lambda r: r.choice(_AGENTS),
    "nth": lambda r: r.choice(("second", "third", "fifth", "first", "tenth")),
    "season": lambda r: r.choice(("summer", "winter", "spring", "black friday")),
}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")

# Shares of calls (roughly) and composition knobs.
_NONE_BASE = 0.12  # plus up to 0.06 for lukewarm customers -> about 15% overall
_TERSE_RATE = 0.06
_MISMATCH_RATE = 0.065


@dataclass(frozen=True, slots=True)
class GeneratedComment:
    """A generated comment with what the generator meant by it (ground truth for demos)."""

    text: str
    polarity: str  # "positive" | "negative" | "neutral" (terse neutral comments)
    dimensions: tuple[str, ...]  # dimensions of the clauses used, in order of appearance
    mismatch: bool  # True when the text deliberately disagrees with the mood
    terse: bool = False


def _topics(touchpoint: str) -> Topics:
    return TOUCHPOINT_TOPICS.get(touchpoint, GENERIC_TOPICS)


def _fill(rng: random.Random, text: str) -> str:
    return _PLACEHOLDER.sub(lambda m: _FILLERS[m.group(1)](rng), text)


def _opposite(polarity: str) -> str:
    return "negative" if polarity == "positive" else "positive"


def _pick_clause(
    rng: random.Random, touchpoint: str, polarity: str, used_dims: list[str], used: list[str]
) -> tuple[str, str]:
    topics = _topics(touchpoint)
    weights = list(_DIMENSION_WEIGHTS.get(touchpoint, _EQUAL_WEIGHTS))
    for i, dim in enumerate(DIMENSIONS):  # prefer talking about something new
        if dim in used_dims:
            weights[i] *= 0.25
    dim = rng.choices(DIMENSIONS, weights=weights)[0]
    pool = topics[dim][polarity]
    # Now and then a generic remark, even at a known touchpoint (not for the senses: an
    # app does not "smell odd").
    if dim != "sense" and rng.random() < 0.12:
        pool = GENERIC_TOPICS[dim][polarity]
    choices = [c for c in pool if c not in used] or list(pool)
    return dim, rng.choice(choices)


def _capitalise_sentences(text: str) -> str:
    out = text[:1].upper() + text[1:]
    return re.sub(r"([.!?:] )([a-z])", lambda m: m.group(1) + m.group(2).upper(), out)


def _terse(rng: random.Random, mood: float) -> GeneratedComment:
    if mood > 0.3 and rng.random() < 0.6:
        polarity = "positive"
    elif mood < -0.3 and rng.random() < 0.6:
        polarity = "negative"
    else:
        polarity = "neutral"
    text = rng.choice(_TERSE[polarity])
    if rng.random() < 0.3 and text[:1].isalpha():
        text = text[:1].upper() + text[1:]
    return GeneratedComment(text=text, polarity=polarity, dimensions=(), mismatch=False, terse=True)


def generate_comment(rng: random.Random, touchpoint: str, mood: float) -> GeneratedComment | None:
    """Generate one comment and what it was meant to say; None when the customer leaves none."""
    mood = max(-1.0, min(1.0, float(mood)))
    strength = abs(mood)
    if rng.random() < _NONE_BASE + 0.06 * (1.0 - strength):
        return None
    if rng.random() < _TERSE_RATE:
        return _terse(rng, mood)

    polarity = "positive" if mood > 0 else "negative"
    if strength < 0.1:  # indifferent customers could go either way
        polarity = rng.choice(POLARITIES)
    mismatch = rng.random() < _MISMATCH_RATE
    if mismatch:
        polarity = _opposite(polarity)

    n_clauses = rng.choices((1, 2, 3), weights=(0.30, 0.47, 0.23))[0]
    # Lukewarm customers mix praise and complaint more often.
    mixed = n_clauses > 1 and rng.random() < 0.12 + 0.35 * (1.0 - strength)

    used: list[str] = []
    dims: list[str] = []

    def clause(pol: str) -> str:
        dim, text = _pick_clause(rng, touchpoint, pol, dims, used)
        used.append(text)
        dims.append(dim)
        return _fill(rng, text)

    if n_clauses == 1:
        body = clause(polarity)
    elif not mixed:
        body = clause(polarity)
        for _ in range(n_clauses - 1):
            body += rng.choice(_JOIN_SAME) + clause(polarity)
    else:
        minor_pol = _opposite(polarity)
        if rng.random() < 0.5:  # "minor but MAJOR [and MAJOR]"
            body = clause(minor_pol) + rng.choice(_JOIN_CONTRAST) + clause(polarity)
            if n_clauses == 3:
                body += rng.choice(_JOIN_SAME) + clause(polarity)
        else:  # "MAJOR [and MAJOR], although minor"
            body = clause(polarity)
            if n_clauses == 3:
                body += rng.choice(_JOIN_SAME) + clause(polarity)
            body += rng.choice(_JOIN_CONCESSION[minor_pol]) + clause(minor_pol)

    # End of the main text.
    flourish = 0.08 + 0.3 * strength
    closer = rng.choice(_CLOSERS[polarity]) if rng.random() < flourish else None
    r = rng.random()
    if r < 0.08 + 0.22 * strength:
        end = "!"
    elif r < 0.85:
        end = "."
    elif polarity == "negative" and r < 0.9:
        end = "..."
    else:
        end = "" if closer is None or closer.startswith(":") else "."
    if rng.random() < (0.2 if n_clauses == 1 else 0.1):
        body = rng.choice(_LEAD_INS) + body
    parts = [body + end]

    if rng.random() < flourish * 0.6:
        parts.insert(0, rng.choice(_OPENERS[polarity]))
    if rng.random() < 0.15:
        pool = CONTEXTS.get(touchpoint, ()) + CONTEXTS["_any"]
        parts.insert(0, _fill(rng, rng.choice(pool)) + ".")
    if closer is not None:
        parts.append(closer)

    text = _capitalise_sentences(" ".join(parts))

    if rng.random() < 0.05:  # one typo
        candidates = [(a, b) for a, b in _TYPOS if a in text]
        if candidates:
            a, b = rng.choice(candidates)
            text = text.replace(a, b, 1)
    if rng.random() < 0.08:  # typed all in lower case
        text = text.lower()
    return GeneratedComment(text=text, polarity=polarity, dimensions=tuple(dims), mismatch=mismatch)


def comment_for(rng: random.Random, touchpoint: str, mood: float) -> str | None:
    """Free-text comment of a customer at ``touchpoint`` whose satisfaction is ``mood`` (-1..1).

    Returns None when the customer leaves no comment (about 15% of calls).
    """
    generated = generate_comment(rng, touchpoint, mood)
    return None if generated is None else generated.text
