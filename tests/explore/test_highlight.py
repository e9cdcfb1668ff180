"""The explorer filtered by a theme highlights the sentences that name it."""

from __future__ import annotations

from voc.explore.highlight import segments, theme_spans
from voc.sentiment.themes import theme_key


def test_the_sentences_naming_a_theme_are_highlighted_and_the_others_are_not():
    text = "The parcel came on time. But the wait time on the phone was awful! Friendly agent though."
    spans = theme_spans(text, theme_key("wait time"))
    assert [text[s["start"]:s["end"]] for s in spans] == ["But the wait time on the phone was awful!"]
    pieces = segments(text, spans)
    marked = [(p.text, p.marks[0]["label"]) for p in pieces if p.marks]
    assert marked == [("But the wait time on the phone was awful!", "wait time")]
    assert "".join(p.text for p in pieces) == text  # nothing lost or doubled around the highlight


def test_a_theme_the_comment_does_not_name_highlights_nothing():
    text = "Quick delivery, friendly driver."
    assert theme_spans(text, theme_key("refund")) == []
    assert all(not p.marks for p in segments(text, theme_spans(text, theme_key("refund"))))


def test_a_theme_highlight_stays_beside_a_dimension_filter():
    text = "The refund took three weeks."
    theme = theme_spans(text, theme_key("refund"))
    clause = [{"dimension": "feel", "start": 0, "end": len(text), "valence": -0.6}]
    pieces = segments(text, clause + theme, only="think")  # the dimension filter hides other dimensions only
    assert [m["dimension"] for m in pieces[0].marks] == ["theme"]
