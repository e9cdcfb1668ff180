"""The message itself: parts, language, escaping of untrusted texts, score links, headers."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from typing import Any

import pytest

from tests.email.helpers import parts
from voc.email.compose import MailInput, Undeliverable, choose_language, compose_message
from voc.email.unsubscribe import unsubscribe_url

URL = "http://testserver/s/TOKEN"
QUESTIONS = [{"id": "nps", "type": "nps", "prompt": "How likely are you to recommend us?", "required": True},
             {"id": "why", "type": "text", "prompt": "Why?"}]
GERMAN = {"de": {"title": "Wie war Ihre Lieferung?",
                 "questions": {"nps": {"prompt": "Wie wahrscheinlich empfehlen Sie uns weiter?"}}}}


def mail(**kw: Any) -> MailInput:
    values: dict[str, Any] = {"invitation_id": 7, "token_nonce": "nonce", "survey_url": URL, "contact_id": 3,
                              "email": "ada@example.com", "contact_attributes": {}, "event_attributes": {},
                              "title": "How was your delivery?", "questions": QUESTIONS, "language": "en",
                              "translations": GERMAN}
    return MailInput(**{**values, **kw})


@pytest.fixture(autouse=True)
def _sender(monkeypatch: pytest.MonkeyPatch) -> None:
    from voc.config import get_settings

    monkeypatch.setenv("VOC_EMAIL_FROM", "Acme <surveys@acme.example>")
    get_settings.cache_clear()


def test_the_contacts_language_picks_the_translation_and_the_fixed_words():
    message = compose_message(mail(contact_attributes={"locale": "de_DE"}))
    text, html = parts(message)
    assert message["Subject"] == "Wie war Ihre Lieferung?"
    assert "Wie wahrscheinlich empfehlen Sie uns weiter?" in text and '<html lang="de">' in html
    assert "Überhaupt nicht wahrscheinlich" in html and "Umfrage-E-Mails abbestellen" in text
    assert f"{URL}?q=nps&v=7&lang=de\n" in text and f'href="{URL}?q=nps&amp;v=7&amp;lang=de"' in html
    reminder = compose_message(mail(contact_attributes={"language": "de"}), reminder=True)
    assert reminder["Subject"] == "Erinnerung: Wie war Ihre Lieferung?"


def test_a_language_the_survey_lacks_falls_back_to_the_surveys_own():
    message = compose_message(mail(contact_attributes={"language": "ja"}))
    assert message["Subject"] == "How was your delivery?" and 'lang="en"' in parts(message)[1]
    assert f"{URL}?q=nps&v=7\n" in parts(message)[0]  # the survey's own language needs no ?lang=
    assert choose_language("de-CH", "en", {"de": {}}) == "de"
    assert choose_language("de", "en", {"de-CH": {}}) == "de-CH"
    assert choose_language("EN-gb", "en", {}) == "en" and choose_language(None, "fr", {"de": {}}) == "fr"


def test_untrusted_texts_are_escaped_in_html_and_cannot_add_headers():
    message = compose_message(mail(title="Hi\r\nBcc: evil@example.com <script>alert(1)</script>",
                                   contact_attributes={"first_name": "<b>Bob</b>"}))
    text, html = parts(message)
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;Bob&lt;/b&gt;" in html
    assert "Hello <b>Bob</b>," in text  # plain text shows it as typed: it is not markup there
    assert message["Bcc"] is None and message["Subject"].startswith("Hi Bcc: evil@example.com")
    head = message.as_bytes().split(b"\n\n", 1)[0]
    assert b"\nBcc:" not in head and message_from_bytes(message.as_bytes(), policy=policy.default)["Bcc"] is None


def test_attributes_are_piped_into_the_prompt_escaped():
    questions = [{"id": "csat", "type": "csat", "prompt": "How was order {{ order_id }}?"}]
    message = compose_message(mail(questions=questions, event_attributes={"order_id": "<A-17>"}, translations={}))
    text, html = parts(message)
    assert "How was order <A-17>?" in text and "How was order &lt;A-17&gt;?" in html
    assert [f"{URL}?q=csat&v={n}" in text for n in range(1, 6)] == [True] * 5
    assert f"{URL}?q=csat&v=0" not in text and f"{URL}?q=csat&v=6" not in text


def test_a_question_the_crm_already_answered_is_not_the_one_in_the_email():
    questions = [{"id": "tier", "type": "single_choice", "prompt": "Tier?", "options": ["a", "b"],
                  "attribute": "tier"}, *QUESTIONS]
    text, _ = parts(compose_message(mail(questions=questions, contact_attributes={"tier": "a"})))
    assert f"{URL}?q=nps&v=10" in text and "Tier?" not in text


def test_headers_and_a_stable_message_id():
    first, again = compose_message(mail()), compose_message(mail())
    assert first["Message-ID"] == again["Message-ID"] and first["Message-ID"].endswith("@acme.example>")
    assert compose_message(mail(), reminder=True)["Message-ID"] != first["Message-ID"]
    assert first["Auto-Submitted"] == "auto-generated"
    assert first["List-Unsubscribe"] == f"<{unsubscribe_url(3)}>"
    # On the wire, as mail clients read it: one plain line, no encoded word.
    assert re.search(rb"\nList-Unsubscribe: <http://testserver/unsubscribe/3\.[\w-]{43}>\r?\n", first.as_bytes())


def test_an_address_that_cannot_be_written_is_undeliverable():
    with pytest.raises(Undeliverable):
        compose_message(mail(email="two@example.com, three@example.com"))
