"""The invitation e-mail: a plain-text part and a simple HTML part, from the invitation's survey version in
the contact's language; the first question, when it is an NPS or CSAT scale, as one link per score."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any
from urllib.parse import urlencode

from voc.config import get_settings
from voc.db import utcnow
from voc.email.texts import texts_for
from voc.email.unsubscribe import unsubscribe_url
from voc.surveys.answers import is_shown, prefilled_answers, scale_bounds
from voc.surveys.texts import pipe
from voc.templates import html_environment, text_environment

SCORE_TYPES = ("nps", "csat")


class Undeliverable(ValueError):
    """The contact's address cannot be written into a message."""


@dataclass(frozen=True)
class MailInput:
    """What one e-mail needs, read in the job's short transaction (plain values, no ORM objects)."""

    invitation_id: int
    token_nonce: str
    survey_url: str
    contact_id: int
    email: str
    contact_attributes: dict[str, Any]
    event_attributes: dict[str, Any]
    title: str
    questions: list[dict[str, Any]]
    language: str
    translations: dict[str, Any]
    test: bool = False  # a test invitation from the dashboard: the subject says so


def choose_language(wanted: Any, base: str, translations: dict[str, Any]) -> str:
    """The survey language closest to the contact's `language`/`locale` attribute, else the survey's own."""
    if not isinstance(wanted, str) or not wanted.strip():
        return base
    available = [base, *translations]
    tag = wanted.strip().replace("_", "-").lower()
    for candidate in (tag, tag.split("-")[0]):
        for language in available:
            if language.lower() == candidate:
                return language
    for language in available:  # "de" asked, only "de-CH" offered
        if language.lower().split("-")[0] == tag.split("-")[0]:
            return language
    return base


def first_asked_question(questions: list[dict[str, Any]], known: dict[str, Any]) -> dict[str, Any] | None:
    """The first question the customer will be asked: not one the CRM already answered, nor one hidden."""
    prefilled = prefilled_answers(questions, known)
    for question in questions:
        if question["id"] not in prefilled and is_shown(question, prefilled):
            return question
    return None


def compose_message(mail: MailInput, *, reminder: bool = False) -> EmailMessage:
    """The multipart/alternative message for this invitation (or its reminder)."""
    settings = get_settings()
    contact_language = mail.contact_attributes.get("language") or mail.contact_attributes.get("locale")
    language = choose_language(contact_language, mail.language, mail.translations)
    translation = (mail.translations.get(language) or {}) if language != mail.language else {}
    known = {**mail.contact_attributes, **mail.event_attributes}
    words = texts_for(language)
    # The page opens in the e-mail's language, whatever the browser prefers (the page honours ?lang=).
    extra = {"lang": language} if language != mail.language else {}

    # Piped as the survey page pipes them; a title is one line.
    title = " ".join(pipe(translation.get("title") or mail.title, mail.contact_attributes,
                          mail.event_attributes).split())
    question = first_asked_question(mail.questions, known)
    scores: list[dict[str, Any]] = []
    prompt = None
    if question is not None and question["type"] in SCORE_TYPES:
        texts = (translation.get("questions") or {}).get(question["id"]) or {}
        prompt = pipe(texts.get("prompt") or question["prompt"], mail.contact_attributes, mail.event_attributes)
        low, high = scale_bounds(question)
        scores = [{"value": n, "url": f"{mail.survey_url}?{urlencode({'q': question['id'], 'v': n, **extra})}"}
                  for n in range(low, high + 1)]
    name = next((v for k in ("first_name", "name") if isinstance(v := mail.contact_attributes.get(k), str)
                 and 0 < len(v.strip()) <= 100), None)
    context = {
        "lang": language, "title": title, "reminder": reminder, "t": words,
        "greeting": words["hello"].format(name=name.strip()) if name else None,
        "prompt": prompt, "scores": scores, "score_type": question["type"] if scores else None,
        "survey_url": f"{mail.survey_url}?{urlencode(extra)}" if extra else mail.survey_url,
        "unsubscribe_url": unsubscribe_url(mail.contact_id),
    }
    subject = title[:200]
    if reminder:
        subject = words["reminder_subject"].format(title=subject)
    if mail.test:
        subject = f"[Test] {subject}"

    # Lines up to RFC 5322's 998: folding at 78 would turn the long unsubscribe URL in List-Unsubscribe into
    # an RFC 2047 encoded word, which mail clients do not read as a URL.
    message = EmailMessage(policy=policy.default.clone(max_line_length=998))
    message["Subject"] = subject
    message["From"] = settings.email_from
    try:
        message["To"] = Address(addr_spec=mail.email)
    except (ValueError, IndexError) as exc:
        raise Undeliverable("the contact's e-mail address cannot be used in a message") from exc
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = _message_id(mail, "reminder" if reminder else "invitation", settings.email_from)
    message["List-Unsubscribe"] = f"<{context['unsubscribe_url']}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058: one POST unsubscribes
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to this
    message.set_content(text_environment.get_template("email/invitation.txt").render(context), cte="quoted-printable")
    message.add_alternative(html_environment.get_template("email/invitation.html").render(context), subtype="html",
                            cte="quoted-printable")
    return message


def _message_id(mail: MailInput, kind: str, sender: str) -> str:
    # The same for every attempt at one message, so a copy sent twice after a crash can be recognised.
    domain = parseaddr(sender)[1].rpartition("@")[2] or "voc.localhost"
    digest = hashlib.sha256(f"{kind}:{mail.token_nonce}".encode()).hexdigest()[:24]
    return f"<voc.{kind}.{mail.invitation_id}.{digest}@{domain}>"
