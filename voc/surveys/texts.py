"""What a customer reads: a survey's texts in their language, with the CRM's attributes piped into them.

Piping is a plain substitution, never a template engine: prompts are written by CX managers and the
values come from the CRM, so neither may run code. The result is text; the page escapes it."""

from __future__ import annotations

import re
from typing import Any

from voc.surveys.triggers import lookup

# {{ order_id }}, {{ contact.first_name }}, or with a fallback for a missing value: {{ first_name | there }}
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)?)\s*(?:\|\s*([^{}|]*?)\s*)?\}\}")
_SPACES = re.compile(r"[ \t]{2,}")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"[ \t]+([?!.,;:])")
_MAX_VALUE = 200  # a CRM field is not a place for an essay; keep prompts readable


def _shown(value: Any) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, dict):
        return ""
    if isinstance(value, list):
        return ", ".join(_shown(item) for item in value if not isinstance(item, list | dict))
    return str(value)[:_MAX_VALUE]


def pipe(text: str, contact_attributes: dict[str, Any], event_attributes: dict[str, Any]) -> str:
    """`text` with each {{ attribute }} replaced by the event's (else the contact's) value.

    A missing value becomes the placeholder's fallback, or nothing: the braces never show."""
    if "{{" not in text:
        return text

    def value_of(match: re.Match[str]) -> str:
        found = lookup(match.group(1), event_attributes or {}, contact_attributes or {})
        shown = _shown(found) if isinstance(found, str | int | float | list) else ""
        return shown.strip() or (match.group(2) or "")

    piped = PLACEHOLDER.sub(value_of, text)
    if piped == text:
        return text
    return _SPACE_BEFORE_PUNCTUATION.sub(r"\1", _SPACES.sub(" ", piped)).strip()


def translation_for(translations: dict[str, Any], language: str) -> dict[str, Any]:
    """The survey's texts in `language` (or its primary language: de-AT uses de), else nothing."""
    wanted = language.lower()
    by_tag = {tag.lower(): text for tag, text in (translations or {}).items()}
    return by_tag.get(wanted) or by_tag.get(wanted.split("-")[0]) or {}


def localized_questions(questions: list[dict], translations: dict[str, Any], language: str,
                        contact_attributes: dict[str, Any], event_attributes: dict[str, Any]) -> list[dict]:
    """Questions as the customer sees them: translated prompt, option labels (the values stay the
    original options, so answers are stored the same in every language), attributes piped in."""
    texts = translation_for(translations, language).get("questions", {})
    shown = []
    for question in questions:
        text = texts.get(question["id"], {})
        item = {**question, "prompt": pipe(text.get("prompt") or question["prompt"], contact_attributes,
                                           event_attributes)}
        if question.get("options"):
            labels = text.get("options") or question["options"]
            item["labels"] = labels if len(labels) == len(question["options"]) else question["options"]
        if len(text.get("anchors") or []) == 2:  # the scale's end labels as the translator wrote them
            item["anchors"] = list(text["anchors"])
        shown.append(item)
    return shown


def localized_text(original: str, translations: dict[str, Any], language: str, name: str) -> str:
    """The survey's `title` or `thank_you` in `language`, else the original."""
    return translation_for(translations, language).get(name) or original
