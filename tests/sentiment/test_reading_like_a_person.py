"""Sentences read as a person reads them: outcomes left unfinished, demands, and a turn at "But".

Every sentence here was written for this test (none is from VADER's evaluation sets). Each asserts what
a CX manager would notice: the sign of the comment's sentiment and, for the first two kinds, that a
phrase is highlighted (a span) so the explorer shows why."""

from __future__ import annotations

import pytest

from voc.sentiment.analyser import analyse

UNFINISHED = [
    "Ticket #87432 was closed without being solved.",
    "My case was marked resolved without any fix.",
    "They closed the complaint without a reply.",
    "The leak is still not fixed.",
    "Two weeks on and the router still isn't working.",
    "The billing error was never resolved.",
    "I never heard back after my second email.",
    "The fault is still unresolved.",
    "I am yet to receive the replacement part.",
    "Nobody got back to me about the damaged sofa.",
    "Three engineer visits and no resolution.",
    "My question about the contract went unanswered.",
]
DEMANDS = [
    "Do better.",
    "Sort it out, please.",
    "Honestly, get your act together.",
    "You need to do better than this.",
    "Sort yourselves out before the next order.",
    "Time to up your game.",
    "Pull your socks up, this is a bank.",
    "The checkout team must improve.",
]
TURNS = [  # (text, the sign the whole comment should have)
    ("Overall it made no sense. But they treated me like a person.", 1),
    ("The app crashed twice. But the agent fixed everything in minutes.", 1),
    ("Delivery was late. However, the driver was lovely and apologised.", 1),
    ("The room was gorgeous. But the staff were rude to my mother.", -1),
    ("Checkout was quick and easy. But my order never arrived.", -1),
    ("Great prices as always. Yet the support line kept me on hold for an hour.", -1),
    ("Parking was a nightmare. But the consultant explained every step clearly.", 1),
    ("The food was delicious. However, we waited ninety minutes for a table.", -1),
]


@pytest.mark.parametrize("text", UNFINISHED)
def test_an_outcome_left_unfinished_reads_negative_and_is_highlighted(text):
    analysis = analyse(text)
    assert analysis.compound < -0.05 and analysis.label == "negative", analysis.compound
    assert any(span.valence < 0 for span in analysis.spans)


@pytest.mark.parametrize("text", DEMANDS)
def test_a_demand_reads_negative_and_is_highlighted(text):
    analysis = analyse(text)
    assert analysis.compound < -0.05, analysis.compound
    assert any(span.valence < 0 for span in analysis.spans)


@pytest.mark.parametrize(("text", "sign"), TURNS)
def test_after_a_turn_at_but_the_second_sentence_weighs_more(text, sign):
    assert analyse(text).compound * sign > 0.05, analyse(text).compound


def test_the_turn_weighs_more_than_the_same_sentences_without_it():
    turned = analyse("It was a long wait. But the nurse was wonderful.").compound
    plain = analyse("It was a long wait. The nurse was wonderful.").compound
    assert turned > plain


def test_a_fix_that_happened_is_still_praise():
    for text in ("My refund was sorted quickly.", "The engineer fixed it on the first visit.",
                 "Problem solved within the hour."):
        assert analyse(text).compound > 0.05, text
