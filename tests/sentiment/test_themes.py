"""Themes a CX manager can aggregate: variants of one topic share a key."""

from __future__ import annotations

import pytest

from voc.sentiment import analyse, theme_key


def test_delivery_variants_share_a_key():
    keys = {theme_key(phrase) for phrase in ("delivery", "deliveries", "delivered late", "Delivery", "the deliveries")}
    assert len(keys) == 1 and keys != {""}


def test_theme_labels_are_readable_and_aggregate_with_their_phrases():
    themes = analyse("My deliveries always arrive late.").themes
    assert "delivery" in themes
    assert theme_key("delivery") == theme_key("deliveries")


@pytest.mark.parametrize(
    ("first", "second"),
    [("rooms", "room"), ("customer service", "customer support"), ("refunds", "refunded"), ("waited", "waiting")],
)
def test_close_variants_meet(first, second):
    assert theme_key(first) == theme_key(second)


def test_different_topics_stay_apart():
    assert theme_key("delivery") != theme_key("refund")
    assert theme_key("room") != theme_key("breakfast")


def test_themes_skip_stopwords_and_sentiment_words():
    themes = analyse("The breakfast was great and the staff were lovely, but the wifi was awful.").themes
    assert {"breakfast", "staff", "broadband"} <= set(themes)
    assert not {"the", "great", "lovely", "awful", "was"} & set(themes)


def test_at_most_five_themes_strongest_first():
    text = (
        "The refund took weeks, the app crashed, the invoice was wrong, the parking was full, "
        "the lift was broken and the second refund never came."
    )
    themes = analyse(text).themes
    assert len(themes) == 5
    assert themes[0] == "refund"  # named twice


def test_nothing_to_say_means_no_themes():
    assert analyse("ok").themes == ()
    assert analyse("").themes == ()
    assert theme_key("") == ""
