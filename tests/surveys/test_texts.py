"""Piping the CRM's attributes into prompts (a plain substitution) and translated survey texts."""

from __future__ import annotations

import pytest

from voc.surveys.texts import localized_questions, localized_text, pipe

CONTACT = {"first_name": "Ann", "order_id": "from-contact", "tags": ["gold", "early"], "vip": True}
EVENT = {"order_id": "A-17", "total": 42.5, "empty": "  "}


@pytest.mark.parametrize(("text", "expected"), [
    ("How was the delivery of order {{ order_id }}?", "How was the delivery of order A-17?"),
    ("Order {{contact.order_id}} or {{ event.order_id }}", "Order from-contact or A-17"),
    ("Hi {{ first_name }}, you spent {{ total }}", "Hi Ann, you spent 42.5"),
    ("How was order {{ missing }}?", "How was order?"),
    ("Hi {{ nickname | there }}!", "Hi there!"),
    ("Hi {{ empty | there }}!", "Hi there!"),
    ("Tags: {{ tags }}", "Tags: gold, early"),
    ("VIP: {{ vip }}", "VIP:"),  # not a text
    ("{{ order_id.__class__ }} {{ ''.join }} {% if x %}", "{{ ''.join }} {% if x %}"),  # no evaluation, ever
    ("No placeholders {here}", "No placeholders {here}"),
])
def test_pipe(text, expected):
    assert pipe(text, CONTACT, EVENT) == expected


def test_piped_values_are_text_not_markup_or_templates():
    assert pipe("Hi {{ name }}", {"name": "{{ secret }} <b>x</b>"}, {}) == "Hi {{ secret }} <b>x</b>"


def test_translations_fall_back_to_the_original():
    questions = [{"id": "q", "type": "single_choice", "prompt": "Which {{ thing }}?", "options": ["A", "B"]},
                 {"id": "r", "type": "text", "prompt": "Why?"}]
    translations = {"de": {"title": "Titel", "questions": {"q": {"prompt": "Welche {{ thing }}?",
                                                                 "options": ["Ä", "B"]}}}}
    german = localized_questions(questions, translations, "de-CH", {"thing": "Box"}, {})
    assert [(q["prompt"], q.get("labels"), q.get("options")) for q in german] == [
        ("Welche Box?", ["Ä", "B"], ["A", "B"]), ("Why?", None, None)]
    assert localized_text("Title", translations, "de", "title") == "Titel"
    assert localized_text("Thanks", translations, "de", "thank_you") == "Thanks"
    assert localized_text("Title", translations, "fr", "title") == "Title"
