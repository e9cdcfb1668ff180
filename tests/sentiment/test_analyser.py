"""What a CX manager sees from analyse(): sentiment, Schmitt's dimensions, spans, robustness."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer, SentiText

from voc.sentiment import ANALYSER_VERSION, DIMENSIONS, analyse, analyse_batch, score_text_mismatch
from voc.sentiment.analyser import get_scorer
from voc.sentiment.scoring import _word_valence
from voc.sentiment.text import clear_token_cache

DATA = Path(__file__).resolve().parents[1] / "data"
MUST_SHOW = (
    "The room smelled of mould and I had to call reception three times, "
    "but the staff remembered my name."
)


@pytest.fixture(scope="module")
def vader() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def _sign(value: float) -> int:
    return 0 if abs(value) < 0.05 else (1 if value > 0 else -1)


def test_must_show_example_has_sense_and_act_negative_and_relate_positive():
    dims = analyse(MUST_SHOW).dimensions
    assert dims["sense"].valence < 0
    assert dims["act"].valence < 0
    assert dims["relate"].valence > 0
    assert dims["feel"] is None and dims["think"] is None


def test_spans_point_at_the_clause_behind_each_dimension():
    result = analyse(MUST_SHOW)
    quoted = {span.dimension: MUST_SHOW[span.start:span.end] for span in result.spans}
    assert "mould" in quoted["sense"]
    assert "call reception three times" in quoted["act"]
    assert "remembered my name" in quoted["relate"]


def test_to_dict_has_exactly_the_documented_shape():
    data = analyse(MUST_SHOW).to_dict()
    assert set(data) == {"sentiment", "dimensions", "themes", "spans"}
    assert set(data["sentiment"]) == {"compound", "label"}
    assert list(data["dimensions"]) == list(DIMENSIONS)
    assert set(data["dimensions"]["sense"]) == {"salience", "valence"}
    assert 0 <= data["dimensions"]["sense"]["salience"] <= 1
    assert set(data["spans"][0]) == {"start", "end", "dimension", "valence"}
    json.dumps(data)  # serialisable as is


def test_labels_follow_vader_thresholds():
    assert analyse("The staff were wonderful.").label == "positive"
    assert analyse("The staff were awful.").label == "negative"
    assert analyse("I ordered on Tuesday.").label == "neutral"


@pytest.mark.parametrize(
    ("text", "dimension", "sign"),
    [
        ("Not bad, the pasta was tasty.", "sense", 1),
        ("Ordering wasn't easy at all.", "act", -1),
        ("No hassle whatsoever.", "act", 1),
        ("The charges weren't confusing at all.", "think", 1),
        ("I didn't understand the new contract.", "think", -1),
        ("Not once did anyone say hello.", "relate", -1),
    ],
)
def test_negation_flips_the_dimension_valence(text, dimension, sign):
    assert _sign(analyse(text).dimensions[dimension].valence) == sign


def test_not_bad_is_positive_overall():
    assert analyse("not bad").label == "positive"


def test_contrast_keeps_both_sides_of_a_mixed_sense_comment():
    result = analyse("Great food but the room was freezing.")
    sense_spans = [span for span in result.spans if span.dimension == "sense"]
    assert {_sign(span.valence) for span in sense_spans} == {1, -1}
    # what follows "but" weighs more, as a reader would take it
    assert result.dimensions["sense"].valence < 0


def test_a_dimension_takes_its_valence_from_its_own_clauses():
    dims = analyse("Fantastic flavours but the staff were unfriendly.").dimensions
    assert dims["sense"].valence > 0
    assert dims["relate"].valence < 0


@pytest.mark.parametrize(
    "text",
    [
        "I waited 40 minutes",
        "Still waiting for my refund",
        "On hold again",
        "Had to call three times",
        "Delivery took forever",
        "The parcel never arrived",
        "Nobody got back to me",
    ],
)
def test_cx_complaints_that_vader_finds_neutral_are_negative(vader, text):
    assert vader.polarity_scores(text)["compound"] == 0  # raw VADER misses them
    assert analyse(text).label == "negative"


@pytest.mark.parametrize("text", ["Returns were hassle-free", "Checkout was seamless", "They went above and beyond"])
def test_cx_praise_that_vader_finds_neutral_is_positive(vader, text):
    assert vader.polarity_scores(text)["compound"] == 0
    assert analyse(text).label == "positive"


@pytest.mark.parametrize(
    ("text", "label"),
    [("An unforgettable stay.", "positive"), ("A merciless queue at the desk.", "negative")],
)
def test_general_english_words_vader_lacks_carry_sentiment(vader, text, label):
    assert vader.polarity_scores(text)["compound"] == 0
    assert analyse(text).label == label


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("The new app eliminates the risk of mistakes.", "positive"),  # VADER: negative
        ("The upgrade prevents errors at checkout.", "positive"),  # VADER: negative
        ("They tackled the problem quickly.", "positive"),  # VADER: negative
        ("It did not prevent the errors.", "negative"),  # VADER: positive
        ("The staff lacked courtesy.", "negative"),  # VADER: positive
        ("The reply was devoid of any warmth.", "negative"),
        ("Few guests liked it.", "negative"),
        ("A few good ideas.", "positive"),  # "a few" denies nothing
    ],
)
def test_decrease_verbs_and_privative_words_turn_what_they_govern(text, label):
    assert analyse(text).label == label


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("The service could be better.", "negative"),  # VADER: positive
        ("Food leaves a lot to be desired.", "negative"),
        ("There is room for improvement.", "negative"),
        ("Could not be better!", "positive"),  # VADER: negative
        ("The stay couldn't have been better.", "positive"),
    ],
)
def test_idioms_of_criticism_and_praise_read_the_way_people_mean_them(vader, text, label):
    assert vader.polarity_scores(text)["compound"] * (1 if label == "positive" else -1) < 0
    assert analyse(text).label == label


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Staff were polite.", "positive"),
        ("Political talk at dinner.", "neutral"),  # Snowball: "polite" and "political" share the stem "polit"
        ("The thought of the trip.", "neutral"),  # ... and "thoughtful" and "thought" the stem "thought"
        ("We work from home.", "neutral"),  # ... and "homely" and "home"
    ],
)
def test_a_cx_word_lends_its_valence_to_its_inflections_not_to_words_of_the_same_stem(text, label):
    assert analyse(text).label == label


def test_an_evaluative_adjective_weighs_more_than_a_noun_that_may_only_name_the_topic(vader):
    # VADER rates both words -2.5
    assert vader.polarity_scores("Horrible!")["compound"] == vader.polarity_scores("Crime!")["compound"]
    assert analyse("Horrible!").compound < analyse("Crime!").compound < 0


@pytest.mark.parametrize("text", ["The ending was laughable.", "The plot is silly."])
def test_a_word_both_lexicons_rate_takes_both_ratings_into_account(vader, text):
    # VADER's raters found "laughable" and "silly" faintly positive; Pattern's call them negative
    assert vader.polarity_scores(text)["compound"] > 0
    assert analyse(text).label == "negative"


@pytest.mark.parametrize("text", ["We stayed at the Best Western.", "I bought it at Best Buy."])
def test_words_inside_proper_names_voice_no_opinion(vader, text):
    assert vader.polarity_scores(text)["compound"] > 0  # VADER: "Best" is praise
    assert analyse(text).label == "neutral"


def test_a_title_case_comment_keeps_its_sentiment():
    assert analyse("I Love This Hotel").label == "positive"


@pytest.mark.parametrize(
    ("text", "dimension", "sign"),
    [
        ("The staff went the extra mile.", "relate", 1),  # a phrase that starts with "the"
        ("We waited a week for a reply.", "act", -1),  # "a" as a number before a time unit
        ("Fixed in 10 minutes.", "act", 1),
    ],
)
def test_phrases_starting_with_common_words_are_still_found(text, dimension, sign):
    assert _sign(analyse(text).dimensions[dimension].valence) == sign


def test_results_do_not_depend_on_what_was_analysed_before():
    texts = [
        "Great, great! GREAT service... but the Wi-Fi kept dropping.",
        "great service; the wifi kept dropping",
        "Waited 40 minutes, then “sorted” in 5 — no hassle.",
        "The Best Western's 3 refunds were fair, weren't they?",
        "Staff were polite, the political talk was dull.",
    ]
    first = analyse_batch(texts)
    clear_token_cache()  # a fresh process: every word form is new again
    assert analyse_batch(texts[::-1])[::-1] == first
    assert analyse_batch(texts) == first


@pytest.mark.parametrize(
    "text",
    ["", "   \n\t ", "n/a", "order #123", "\x00\x01\x02\x7f", "<br><br/>", "&nbsp;&amp;", "12345"],
)
def test_nothing_said_gives_neutral_and_no_dimensions(text):
    result = analyse(text)
    assert result.compound == 0 and result.label == "neutral"
    assert all(score is None for score in result.dimensions.values())
    assert result.spans == ()


@pytest.mark.parametrize("text", ["ok", "Fine thanks", "Great!", "Terrible service.", "10/10"])
def test_bare_verdicts_express_no_dimension(text):
    assert all(score is None for score in analyse(text).dimensions.values())


@pytest.mark.parametrize(
    "text",
    [
        "😀😀😀",
        "🙂",
        "Das Essen war schrecklich und das Zimmer kalt.",
        "这家酒店很好",
        "<p>The <b>food</b> was great</p><script>alert(1)</script>",
        "word " * 5000,
        "a" * 20_000,
        "The room was dirty!!!\x00\x1b[31m" * 300,
        "?!?!...,,,;;;---",
        "'''\"\"\"",
    ],
)
def test_odd_input_never_raises_and_returns_a_valid_result(text):
    data = analyse(text).to_dict()
    assert -1 <= data["sentiment"]["compound"] <= 1
    assert data["sentiment"]["label"] in {"positive", "neutral", "negative"}
    assert len(data["themes"]) <= 5
    for span in data["spans"]:
        assert 0 <= span["start"] < span["end"] <= min(len(text), 10_000)


def test_emoji_only_comment_has_no_dimensions():
    assert all(score is None for score in analyse("😀😀😀").dimensions.values())


def test_html_markup_does_not_shift_spans():
    text = "<p>The room smelled of damp</p>"
    span = analyse(text).spans[0]
    assert "smelled of damp" in text[span.start:span.end]


def test_non_string_input_is_tolerated():
    assert analyse(None).label == "neutral"  # type: ignore[arg-type]
    assert analyse(42).label == "neutral"  # type: ignore[arg-type]


def test_analyse_batch_keeps_order():
    texts = ["Awful service.", "", "Lovely staff!", "Delivery took forever"]
    assert [a.label for a in analyse_batch(texts)] == ["negative", "neutral", "positive", "negative"]
    assert analyse_batch([]) == []


def test_analyser_version_is_a_short_string():
    assert isinstance(ANALYSER_VERSION, str) and 0 < len(ANALYSER_VERSION) <= 32


@pytest.mark.parametrize(
    "text",
    [
        "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
        "At least it isn't a horrible book.",
        "The book was only kind of good.",
        "Sentiment analysis has never been this good!",
        "Without a doubt, excellent idea.",
        "Roger Dodger is one of the least compelling variations on this theme.",
        "no no no, not good at all, nor useful",
        "It isn't the shit, it's the bomb",
    ],
)
def test_word_scoring_is_vaders_own(vader, text):
    sentitext = SentiText(text)
    words = sentitext.words_and_emoticons
    lower = [w.lower() for w in words]
    lexicon = vader.lexicon
    for i, word in enumerate(words):
        if lower[i] in lexicon:
            expected = vader.sentiment_valence(0, sentitext, word, i, [])[-1]
            assert _word_valence(lexicon, words, lower, i, sentitext.is_cap_diff) == expected


def test_scorer_is_shared():
    assert get_scorer() is get_scorer()


@pytest.mark.parametrize(
    ("kind", "score", "compound", "expected"),
    [
        ("nps", 10, -0.6, True),
        ("nps", 9, -0.35, True),
        ("nps", 9, -0.1, False),  # mildly negative is not a contradiction
        ("nps", 3, 0.7, True),
        ("nps", 6, 0.4, True),
        ("nps", 8, -0.9, False),  # passives are neither
        ("nps", 2, -0.8, False),
        ("csat", 5, -0.5, True),
        ("csat", 4, 0.5, False),
        ("csat", 1, 0.5, True),
        ("csat", 3, -0.9, False),
        ("ces", 7, -0.5, True),
        ("ces", 2, 0.6, True),
        ("ces", 4, 0.9, False),
        ("CSAT", 5, -0.5, True),
        ("rating", 5, -0.9, False),
        ("nps", 11, -0.9, False),  # out of range
        ("nps", "ten", -0.9, False),
    ],
)
def test_score_text_mismatch(kind, score, compound, expected):
    assert score_text_mismatch(kind, score, compound) is expected


def _load(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def test_tuning_set_has_every_dimension_in_both_valences():
    rows = _load("dimensions_tuning_1.jsonl")
    assert len(rows) >= 150
    for dimension in DIMENSIONS:
        values = {row["dimensions"][dimension] for row in rows}
        assert {1, -1} <= values, dimension
    assert any(all(v is None for v in row["dimensions"].values()) for row in rows)


def test_second_tuning_set_is_separate_and_big_enough():
    first = {row["text"] for row in _load("dimensions_tuning_1.jsonl")}
    second = _load("dimensions_tuning_2.jsonl")
    assert len(second) >= 80
    assert not first & {row["text"] for row in second}
    for row in second:
        assert set(row["dimensions"]) == set(DIMENSIONS)
        assert all(v in (None, -1, 0, 1) for v in row["dimensions"].values())


def test_voc_loads_without_dragging_in_scipy_and_numpy_where_they_are_installed():
    """They are installed here (the tests check statistics against scipy); NLTK would import both, 1.3 s and
    about 70 MB for every voc process, for nothing voc calls. The stems are NLTK's Snowball all the same."""
    import subprocess
    import sys

    script = ("import sys, importlib.util, voc.app, voc.cli; from voc.sentiment.stemming import SnowballStemmer; "
              "assert importlib.util.find_spec('scipy') and importlib.util.find_spec('numpy'); "
              "print(sorted(m for m in ('scipy', 'numpy') if m in sys.modules), "
              "SnowballStemmer('english').stem('deliveries'))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["[]", "deliveri"]
