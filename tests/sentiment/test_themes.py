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


# Words a CX manager would never call a topic; the issue named the first seven.
NON_TOPICS = ("left", "number", "sense", "second", "overall", "person", "long")


@pytest.mark.parametrize(
    "text",
    [
        "Overall it made no sense. But they treated me like a person.",
        "I left after a long time on the phone, the second call in a week.",
        "They gave me a number and said a person would call back in a second.",
        "Long story short, overall it was fine and I left happy.",
        "Seconds later the number was gone, which makes no sense to me.",
    ],
)
def test_stray_words_are_never_themes(text):
    themes = {theme_key(label) for label in analyse(text).themes}
    assert not themes & set(NON_TOPICS), themes
    assert all(theme_key(word) == "" for word in NON_TOPICS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I waited forty minutes in the queue.", "wait time"),
        ("We were on hold for an hour.", "wait time"),
        ("The delivery driver threw the parcel over the fence.", "delivery driver"),
        ("Still no refund after three weeks.", "refund"),
        ("The battery life is shorter than promised.", "battery"),
        ("The order number on the invoice was wrong.", "order number"),
        ("The DVD player stopped reading discs.", "dvd player"),
        ("Customer support never answered.", "customer service"),
    ],
)
def test_themes_are_noun_phrases_and_cx_aspects(text, expected):
    assert expected in {theme_key(label) for label in analyse(text).themes}


@pytest.mark.parametrize(
    "variants",
    [
        ("queue", "queues", "waited", "on hold", "wait time", "waiting time"),
        ("courier", "couriers", "delivery driver", "delivery drivers", "delivery man"),
        ("refund", "refunds", "refunded", "money back"),
        ("box", "boxes", "packaging"),
        ("DVD players", "dvd player", "Dvd Player"),
    ],
)
def test_inflections_and_near_synonyms_share_one_key(variants):
    assert len({theme_key(v) for v in variants}) == 1


def test_keys_are_readable_labels_and_their_own_keys():
    # A URL carries the key: never a stem ("overal", "sens", "packag"), and the chip "packaging" opens packaging.
    assert theme_key("packaging") == "packaging" and theme_key("package") == "parcel"
    assert theme_key("Deliveries") == "delivery" and theme_key("experienced staff") == "staff"
    texts = [
        "The packaging was lovely but the parcels arrived late and the courier's van blocked the drive.",
        "Customer service kept me on hold, the invoices were wrong and the app crashed twice.",
        "The iPod's battery life is great, the DVDs skip and the remote control feels cheap.",
    ]
    for label in (label for text in texts for label in analyse(text).themes):
        key = theme_key(label)
        assert key == label.lower() or theme_key(key) == key
        assert theme_key(key) == key and key.replace(" ", "").replace("-", "").isalpha()


def test_verbs_and_adjectives_the_lexicon_calls_nouns_are_not_themes():
    assert analyse("I had to drive to the depot.").themes == ("depot",)
    assert analyse("I can't figure out the settings.").themes == ("setting",)
    assert analyse("It is very light.").themes == ()


def test_acronyms_and_names_keep_their_capitals():
    assert analyse("The DVDs skip on my new Sony.").themes == ("DVD", "Sony")
    assert analyse("THE DELIVERY WAS LATE").themes == ("delivery",)


def test_no_variant_belongs_to_two_aspects():
    from voc.sentiment.aspects import _variant_forms
    from voc.sentiment.lexicon import _lines

    owner: dict[tuple, str] = {}
    for line in _lines("themes.txt"):
        label, variants = (part.strip() for part in line.split(":", 1))
        for variant in (v.strip() for v in variants.split(",")):
            forms = _variant_forms(variant)
            assert owner.setdefault(forms, label) == label, f"{variant!r} is under {owner[forms]!r} and {label!r}"
