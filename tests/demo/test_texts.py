"""The demo comment generator: deterministic, varied, and following the customer's mood."""

import random
import re

import pytest

from voc.demo.texts import (
    DIMENSIONS,
    GENERIC_TOPICS,
    POLARITIES,
    TOUCHPOINT_TOPICS,
    comment_for,
    generate_comment,
)

TOUCHPOINTS = (
    "ad_campaign",
    "website_visit",
    "checkout",
    "order_delivered",
    "first_use",
    "app_usage",
    "support_ticket_closed",
    "invoice_sent",
)

# Marker words known to be in the fragments, per experiential dimension.
DIMENSION_MARKERS = {
    "sense": (
        "looked",
        "looks",
        "smell",
        "noise",
        "loud",
        "colour",
        "photo",
        "soft",
        "font",
        "blurry",
        "quiet",
    ),
    "feel": (
        "happy",
        "frustrat",
        "disappoint",
        "delight",
        "relie",
        "annoy",
        "stress",
        "excited",
        "angry",
        "upset",
    ),
    "think": ("clear", "confus", "understand", "surpris", "sense", "explain", "figure out", "no idea"),
    "act": ("had to", "minutes", "took", "click", "taps", "waited", "chase", "log in"),
    "relate": ("agent", "friend", "recommend", "treated", "person", "cared", "family", "driver", "customer"),
}

# Small polarity lexicons of words the fragments use (deliberately not VADER).
NEGATIVE_MARKERS = (
    "disappoint",
    "frustrat",
    "confus",
    "rude",
    "annoy",
    "awful",
    "nobody",
    "no one",
    "didn't",
    "don't",
    "can't",
    "couldn't",
    "crushed",
    "upset",
    "stress",
    "had to",
    "poor",
    "terrible",
    "ignored",
    "angry",
    "furious",
    "waited",
)
POSITIVE_MARKERS = (
    "great",
    "happy",
    "love",
    "clear",
    "easy",
    "friendly",
    "quick",
    "perfect",
    "delight",
    "reliev",
    "pleas",
    "nice",
    "lovely",
    "thank",
    "enjoy",
    "recommend",
)


def _count(text: str, markers: tuple[str, ...]) -> int:
    low = text.lower()
    return sum(low.count(m) for m in markers)


def _sample(seed: int, n: int, mood: float | None = None) -> list[str | None]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        touchpoint = rng.choice(TOUCHPOINTS)
        m = rng.uniform(-1.0, 1.0) if mood is None else mood
        out.append(comment_for(rng, touchpoint, m))
    return out


@pytest.fixture(scope="module")
def comments() -> list[str | None]:
    return _sample(20240601, 2000)


def test_same_seed_same_sequence():
    assert _sample(42, 500) == _sample(42, 500)
    assert _sample(42, 500) != _sample(43, 500)


def test_none_rate_is_about_fifteen_percent(comments):
    none_rate = sum(c is None for c in comments) / len(comments)
    assert 0.10 <= none_rate <= 0.20


def test_many_distinct_texts(comments):
    texts = [c for c in comments if c]
    assert len(set(texts)) >= 1500


def test_terse_comments_occur(comments):
    terse = {"fine", "ok", "ok thanks", "n/a", "na", "-", "nothing to add", "meh", "great!", "all good"}
    n_terse = sum(1 for c in comments if c and c.lower() in terse)
    assert 20 <= n_terse <= 250


@pytest.mark.parametrize("dimension", DIMENSIONS)
def test_every_dimension_is_voiced(comments, dimension):
    markers = DIMENSION_MARKERS[dimension]
    hits = sum(1 for c in comments if c and _count(c, markers))
    assert hits >= 100, (dimension, hits)


def test_sentiment_follows_mood():
    negative = [c for c in _sample(7, 800, mood=-0.8) if c]
    positive = [c for c in _sample(7, 800, mood=0.8) if c]
    neg_in_neg = sum(_count(c, NEGATIVE_MARKERS) for c in negative)
    pos_in_neg = sum(_count(c, POSITIVE_MARKERS) for c in negative)
    neg_in_pos = sum(_count(c, NEGATIVE_MARKERS) for c in positive)
    pos_in_pos = sum(_count(c, POSITIVE_MARKERS) for c in positive)
    assert neg_in_neg > 2 * neg_in_pos
    assert pos_in_pos > 2 * pos_in_neg
    assert neg_in_neg > 2 * pos_in_neg
    assert pos_in_pos > 2 * neg_in_pos


def test_some_comments_disagree_with_mood():
    rng = random.Random(11)
    generated = [generate_comment(rng, rng.choice(TOUCHPOINTS), 0.9) for _ in range(3000)]
    full = [g for g in generated if g is not None and not g.terse]
    rate = sum(g.mismatch for g in full) / len(full)
    assert 0.03 <= rate <= 0.10
    # A mismatch really reads the other way: negative markers outweigh positive ones.
    mismatched = [g.text for g in full if g.mismatch]
    assert sum(_count(t, NEGATIVE_MARKERS) for t in mismatched) > sum(
        _count(t, POSITIVE_MARKERS) for t in mismatched
    )
    assert all(g.polarity == "negative" for g in full if g.mismatch)


def test_mixed_polarity_and_connectives(comments):
    texts = [c.lower() for c in comments if c]
    assert sum(" but " in t or ", although " in t or ", though " in t for t in texts) >= 100
    assert sum(" and " in t for t in texts) >= 200


def test_texture_numbers_exclamations_lowercase(comments):
    texts = [c for c in comments if c and len(c) > 25]
    assert sum(bool(re.search(r"\d", t)) for t in texts) >= 50
    assert sum("!" in t for t in texts) >= 50
    assert sum(t == t.lower() for t in texts) >= 30  # typed without capitals
    assert sum(t[0].isupper() for t in texts) >= len(texts) // 2


def test_plain_text_and_placeholders_filled(comments):
    for c in comments:
        if c is None:
            continue
        assert c.strip() == c and c
        assert not re.search(r"[<>{}&]", c), c
        assert "  " not in c, c


def test_unknown_touchpoint_falls_back_to_generic():
    rng = random.Random(5)
    generic = {
        clause.split("{")[0]
        for dims in GENERIC_TOPICS.values()
        for clauses in dims.values()
        for clause in clauses
    }
    texts = [comment_for(rng, "no_such_touchpoint", rng.uniform(-1, 1)) for _ in range(300)]
    texts = [t.lower() for t in texts if t]
    assert len(texts) > 200
    assert sum(any(g in t for g in generic) for t in texts) > 150


def test_mood_outside_range_is_clamped():
    def comments(mood: float) -> list[str | None]:
        rng = random.Random(3)
        return [comment_for(rng, "checkout", mood) for _ in range(50)]

    delighted, furious = comments(1.0), comments(-1.0)
    assert delighted != furious and sum(c is not None for c in delighted) >= 30  # the mood is heard
    assert comments(5.0) == delighted
    assert comments(-5.0) == furious


def test_fragment_inventory():
    assert set(TOUCHPOINTS) == set(TOUCHPOINT_TOPICS)
    total = 0
    for topics in (*TOUCHPOINT_TOPICS.values(), GENERIC_TOPICS):
        assert tuple(topics) == DIMENSIONS
        for dim in DIMENSIONS:
            for polarity in POLARITIES:
                clauses = topics[dim][polarity]
                assert len(clauses) >= 4
                assert len(set(clauses)) == len(clauses)
                total += len(clauses)
    assert total >= 300
