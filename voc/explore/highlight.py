"""A response as the explorer shows it: answers with their prompts, and text split into highlighted segments.

Highlighting is data, not markup: each segment carries its text and the dimensions that cover it, and the
template escapes every segment, so nothing a customer wrote is ever injected as HTML."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from voc.explore.service import rows_by_id
from voc.sentiment.analyser import themes_of
from voc.sentiment.model import DIMENSIONS, sentiment_label
from voc.sentiment.themes import theme_key
from voc.surveys.experience import nps_category
from voc.surveys.models import Answer, Contact, Response, Survey, SurveyVersion, Touchpoint

COMMENT_SEPARATOR = "\n\n"  # how submit_response joins text answers into the analysed comment


@dataclass
class Segment:
    text: str
    marks: list[dict[str, Any]] = field(default_factory=list)  # [{dimension, valence, tone}]


@dataclass
class AnswerView:
    question_id: str
    prompt: str
    type: str
    value: Any
    source: str
    segments: list[Segment] | None = None


@dataclass
class ResponseView:
    id: int
    response: Response
    survey: Survey | None
    touchpoint: Touchpoint | None
    contact: Contact | None
    answers: list[AnswerView]
    sentiment: dict[str, Any] | None
    themes: list[tuple[str, str]]  # (label, key)
    dimensions: dict[str, dict[str, Any] | None]
    mismatch: bool
    nps_category: str | None


def tone(valence: float | None) -> str:
    """A word for a valence: positive, negative or mixed."""
    if valence is None:
        return "mixed"
    return "positive" if valence > 0.05 else "negative" if valence < -0.05 else "mixed"


_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


def theme_spans(text: str, key: str) -> list[dict[str, Any]]:
    """The sentences of `text` that name the theme `key` (as the analyser reads them), as spans to highlight:
    the explorer filtered by a theme shows where each comment speaks of it."""
    spans = []
    for match in _SENTENCE.finditer(text):
        sentence = match.group()
        labels = [label for label in themes_of(sentence) if theme_key(label) == key]
        if labels:
            start = match.start() + len(sentence) - len(sentence.lstrip())
            spans.append({"dimension": "theme", "label": labels[0], "start": start,
                          "end": match.start() + len(sentence.rstrip())})
    return spans


def segments(text: str, spans: list[dict[str, Any]], only: str | None = None) -> list[Segment]:
    """Split `text` at every span edge; each piece lists the dimensions (or the theme) whose spans cover it."""
    usable = [s for s in spans if isinstance(s, dict)
              and (s.get("dimension") == "theme" or s.get("dimension") in DIMENSIONS
                   and (only is None or s["dimension"] == only))
              and isinstance(s.get("start"), int) and isinstance(s.get("end"), int)]
    edges = sorted({0, len(text), *(min(max(s["start"], 0), len(text)) for s in usable),
                    *(min(max(s["end"], 0), len(text)) for s in usable)})
    pieces = []
    for start, end in zip(edges, edges[1:], strict=False):
        if start >= end:
            continue
        marks = [{"dimension": s["dimension"], "valence": s.get("valence"), "tone": "named", "label": s["label"]}
                 if s["dimension"] == "theme" else
                 {"dimension": s["dimension"], "valence": s.get("valence"), "tone": tone(s.get("valence"))}
                 for s in usable if s["start"] <= start and end <= s["end"]]
        # One mark per dimension: overlapping clauses of one dimension read as one highlight.
        unique = list({m["dimension"]: m for m in marks}.values())
        if pieces and not unique and not pieces[-1].marks:
            pieces[-1].text += text[start:end]
        else:
            pieces.append(Segment(text[start:end], unique))
    return pieces or [Segment(text)]


def _prompts(version: SurveyVersion | None) -> dict[str, str]:
    return {q.get("id"): q.get("prompt", q.get("id")) for q in (version.questions if version else [])}


def _answer_views(response: Response, answers: list[Answer], prompts: dict[str, str],
                  only: str | None, theme: str | None = None) -> list[AnswerView]:
    spans = list(((response.analysis or {}).get("spans")) or [])
    comment = response.comment or ""
    offset, views, placed = 0, [], False
    for answer in answers:
        view = AnswerView(answer.question_id, prompts.get(answer.question_id, answer.question_id), answer.type,
                          answer.value, answer.source)
        if answer.type == "text" and answer.text and answer.text.strip():
            text = answer.text
            local = []
            # Spans are offsets into the comment, which is the text answers joined; find this one's share.
            if comment[offset:offset + len(text)] == text:
                local = [{**s, "start": s["start"] - offset, "end": s["end"] - offset} for s in spans
                         if isinstance(s, dict) and isinstance(s.get("start"), int) and isinstance(s.get("end"), int)
                         and s["start"] >= offset and s["end"] <= offset + len(text)]
                offset += len(text) + len(COMMENT_SEPARATOR)
                placed = True
            view.segments = segments(text, local + (theme_spans(text, theme) if theme else []), only)
        views.append(view)
    if not placed and comment.strip() and not any(v.type == "text" for v in views):
        views.append(AnswerView("comment", "Comment", "text", comment, "customer",
                                segments(comment, spans + (theme_spans(comment, theme) if theme else []), only)))
    return views


def response_views(session: Session, responses: list[Response], only: str | None = None,
                   theme: str | None = None) -> list[ResponseView]:
    """What the explorer shows of each response, loading what they refer to in a few queries (no N+1); with
    `only` a dimension's clauses are highlighted, with `theme` (a theme key) the sentences naming it."""
    if not responses:
        return []
    answers: dict[int, list[Answer]] = defaultdict(list)
    for answer in session.scalars(select(Answer).where(Answer.response_id.in_([r.id for r in responses]))
                                  .order_by(Answer.id)):
        answers[answer.response_id].append(answer)
    surveys = rows_by_id(session, Survey, {r.survey_id for r in responses})
    versions = rows_by_id(session, SurveyVersion, {r.survey_version_id for r in responses})
    touchpoints = rows_by_id(session, Touchpoint, {r.touchpoint_id for r in responses})
    contacts = rows_by_id(session, Contact, {r.contact_id for r in responses})
    views = []
    for r in responses:
        analysis = r.analysis or {}
        sentiment = analysis.get("sentiment")
        if sentiment is None and r.sentiment is not None:
            sentiment = {"compound": r.sentiment, "label": sentiment_label(r.sentiment)}
        dimensions = analysis.get("dimensions") or {}
        views.append(ResponseView(
            id=r.id, response=r, survey=surveys.get(r.survey_id), touchpoint=touchpoints.get(r.touchpoint_id),
            contact=contacts.get(r.contact_id),
            answers=_answer_views(r, answers[r.id], _prompts(versions.get(r.survey_version_id)), only, theme),
            sentiment=sentiment,
            themes=[(label, theme_key(label)) for label in analysis.get("themes") or [] if isinstance(label, str)],
            dimensions={name: dimensions.get(name) for name in DIMENSIONS},
            mismatch=bool(r.mismatch), nps_category=nps_category(r.nps)))
    return views
