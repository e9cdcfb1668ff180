"""Filtered, keyset-paged queries over responses, shared by the explorer page and the CSV export."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import and_, false, func, literal, or_, select, true, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql import Select
from sqlmodel import Session

from voc.cursors import keyset_page, pack_cursor, pack_moment_cursor, unpack_cursor, unpack_moment_cursor
from voc.errors import Invalid
from voc.ids import parse_row_id
from voc.periods import PERIODS, Period, period_bounds
from voc.sentiment.model import DIMENSIONS, NEGATIVE_THRESHOLD, POSITIVE_THRESHOLD
from voc.sentiment.themes import theme_key
from voc.surveys.models import Answer, Contact, Response, Survey, Touchpoint

SENTIMENTS = ("negative", "neutral", "positive")
TONES = ("negative", "positive")  # with a dimension: how the customer felt about it (its valence)
# Bands by the score's value. NPS: the usual categories; CSAT 1–5 and CES 1–7: low, mid, high.
NPS_BANDS = {"promoter": (9, 10), "passive": (7, 8), "detractor": (0, 6)}
SCALE_BANDS = {"low": {"csat": (1, 2), "ces": (1, 3)}, "mid": {"csat": (3, 3), "ces": (4, 4)},
               "high": {"csat": (4, 5), "ces": (5, 7)}}
BANDS = (*NPS_BANDS, *SCALE_BANDS)
PAGE_SIZE = 25
MAX_QUERY = 200
# `sort`: newest first (the default), or "sentiment": most negative comment first, responses without one last.
SORTS = ("sentiment",)
_QUESTION_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")  # as voc.surveys.schemas.Question.id
_NO_SENTIMENT = 2.0  # sorts after every compound score (−1..1)


@dataclass(frozen=True)
class ResponseFilters:
    """What the explorer shows, as given in the URL; unknown values are dropped rather than refused."""

    survey: str | None = None
    touchpoint: str | None = None
    period: str | None = None
    band: str | None = None
    sentiment: str | None = None
    dimension: str | None = None
    tone: str | None = None  # only with a dimension: its valence negative (≤ −0.05) or positive (≥ 0.05)
    theme: str | None = None
    mismatch: bool = False
    q: str | None = None
    answer: str | None = None  # "<question_id>:<option>": the customer picked this option of a choice question
    sort: str | None = None
    # Only the test responses (made through the dashboard's test invitations), which every other view leaves out.
    test: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> ResponseFilters:
        """Read the filters from query parameters."""

        def text(name: str, limit: int = 200) -> str | None:
            value = (params.get(name) or "").strip()
            return value[:limit] or None

        def choice(name: str, allowed: Any) -> str | None:
            value = text(name)
            return value if value in allowed else None

        theme = text("theme")
        answer = text("answer", 64 + 1 + 200)
        question_id, _, option = (answer or "").partition(":")
        dimension = choice("dimension", DIMENSIONS)
        return cls(survey=text("survey"), touchpoint=text("touchpoint"),
                   period=choice("period", PERIODS), band=choice("band", BANDS),
                   sentiment=choice("sentiment", SENTIMENTS), dimension=dimension,
                   tone=choice("tone", TONES) if dimension else None,
                   theme=(theme_key(theme) or None) if theme else None,
                   mismatch=(params.get("mismatch") or "").lower() in ("1", "true", "on", "yes"),
                   q=text("q", MAX_QUERY),
                   answer=answer if option and _QUESTION_ID.match(question_id) else None,
                   sort=choice("sort", SORTS),
                   test=(params.get("test") or "").lower() in ("1", "true", "on", "yes"))

    @property
    def answer_filter(self) -> tuple[str, str] | None:
        """The answer filter as (question id, option)."""
        if not self.answer:
            return None
        question_id, _, option = self.answer.partition(":")
        return question_id, option

    def to_params(self) -> dict[str, str]:
        """The filters as query parameters (only those set), for links that keep the view."""
        out = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is True:
                out[item.name] = "1"
            elif value:
                out[item.name] = str(value)
        return out


@dataclass
class ResponsePage:
    items: list[Response]
    next_cursor: str | None
    total: int


def encode_cursor(response: Response) -> str:
    """Where a page ended: the last response's completion time and id."""
    return pack_moment_cursor(response.completed_at, response.id)


def encode_sentiment_cursor(response: Response) -> str:
    """Where a page sorted by sentiment ended: the last response's sentiment (or none) and id."""
    return pack_cursor("s", repr(_NO_SENTIMENT if response.sentiment is None else float(response.sentiment)),
                       response.id)


def _unpack_sentiment_cursor(cursor: str) -> tuple[float, int]:
    kind, sentiment, ident = unpack_cursor(cursor, 3)
    try:
        value, ident_value = float(sentiment), parse_row_id(ident)
    except ValueError:
        value, ident_value = float("nan"), None
    if kind != "s" or ident_value is None or not -1.0 <= value <= _NO_SENTIMENT:
        raise Invalid("the page link is not one voc gave out", code="invalid_cursor")
    return value, ident_value


def _themes_table(session: Session) -> Any:
    """The labels of a response's analysis themes, as a table-valued function of each dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return func.jsonb_array_elements_text(Response.analysis["themes"]).table_valued("value")
    return func.json_each(Response.analysis, "$.themes").table_valued("value")


def _picked(session: Session, question_id: str, option: str) -> Any:
    """The response has an answer of the customer's to this question that picked this option."""
    if session.get_bind().dialect.name == "postgresql":
        holds = type_coerce(Answer.choices, JSONB).contains([option])
    else:
        picks = func.json_each(Answer.choices).table_valued("value")
        holds = select(literal(1)).select_from(picks).where(picks.c.value == option).exists()
    return (select(Answer.id).where(Answer.response_id == Response.id, Answer.question_id == question_id,
                                    Answer.source == "customer", Answer.choices.is_not(None), holds).exists())


def bounds_of(filters: ResponseFilters, now: datetime | None = None) -> Period:
    """The explorer's period: the same whole workspace days as every dashboard page (voc.periods)."""
    return period_bounds(filters.period, now)


def _base_query(session: Session, filters: ResponseFilters, now: datetime | None) -> Select:
    """Every filter but the theme, on completed responses within the period."""
    bounds = bounds_of(filters, now)
    query = select(Response).where(Response.status == "completed", Response.completed_at >= bounds.start,
                                   Response.completed_at < bounds.end, Response.is_test.is_(filters.test))
    if filters.survey:
        query = query.where(Response.survey_id.in_(select(Survey.id).where(Survey.key == filters.survey)))
    if filters.touchpoint:
        query = query.where(Response.touchpoint_id.in_(
            select(Touchpoint.id).where(Touchpoint.key == filters.touchpoint)))
    if filters.band in NPS_BANDS:
        low, high = NPS_BANDS[filters.band]
        query = query.where(Response.nps.between(low, high))
    elif filters.band in SCALE_BANDS:
        ranges = SCALE_BANDS[filters.band]
        query = query.where(or_(Response.csat.between(*ranges["csat"]), Response.ces.between(*ranges["ces"])))
    if filters.sentiment == "positive":
        query = query.where(Response.sentiment >= POSITIVE_THRESHOLD)
    elif filters.sentiment == "negative":
        query = query.where(Response.sentiment <= NEGATIVE_THRESHOLD)
    elif filters.sentiment == "neutral":
        query = query.where(Response.sentiment > NEGATIVE_THRESHOLD, Response.sentiment < POSITIVE_THRESHOLD)
    if filters.dimension:
        # A dimension is expressed when it has a score ({"salience", "valence"}), not null.
        query = query.where(Response.analysis[("dimensions", filters.dimension, "salience")].as_float().is_not(None))
        valence = Response.analysis[("dimensions", filters.dimension, "valence")].as_float()
        if filters.tone == "negative":
            query = query.where(valence <= NEGATIVE_THRESHOLD)
        elif filters.tone == "positive":
            query = query.where(valence >= POSITIVE_THRESHOLD)
    if filters.mismatch:
        query = query.where(Response.mismatch.is_(True))
    if filters.q:
        query = query.where(Response.comment.icontains(filters.q, autoescape=True))
    if filters.answer_filter:
        query = query.where(_picked(session, *filters.answer_filter))
    return query


def theme_labels(session: Session, filters: ResponseFilters, now: datetime | None = None) -> list[str]:
    """The theme labels, among responses matching the other filters, whose key is the chosen theme."""
    if not filters.theme:
        return []
    elements = _themes_table(session)
    candidates = _base_query(session, filters, now).subquery()
    labels = session.scalars(select(elements.c.value).select_from(Response).join(elements, true())
                             .where(Response.id.in_(select(candidates.c.id))).distinct())
    return [label for label in labels if isinstance(label, str) and theme_key(label) == filters.theme]


def filtered_query(session: Session, filters: ResponseFilters, now: datetime | None = None) -> Select:
    """Responses matching every filter (no order, no limit)."""
    query = _base_query(session, filters, now)
    if filters.theme:
        labels = theme_labels(session, filters, now)
        if not labels:
            return query.where(false())
        elements = _themes_table(session)
        query = query.where(select(elements.c.value).where(elements.c.value.in_(labels)).exists())
    return query


def _after(cursor: str | None) -> Any:
    if not cursor:
        return None
    when, ident = unpack_moment_cursor(cursor)
    return or_(Response.completed_at < when, and_(Response.completed_at == when, Response.id < ident))


def _newest_first(query: Select) -> Select:
    return query.order_by(Response.completed_at.desc(), Response.id.desc())


def _most_negative_first(query: Select, cursor: str | None) -> Select:
    key = func.coalesce(Response.sentiment, _NO_SENTIMENT)
    if cursor:
        sentiment, ident = _unpack_sentiment_cursor(cursor)
        query = query.where(or_(key > sentiment, and_(key == sentiment, Response.id > ident)))
    return query.order_by(key.asc(), Response.id.asc())


def in_explorer_order(query: Select, filters: ResponseFilters) -> Select:
    """The explorer's order for a whole list (the CSV export): most negative first when sorted by sentiment,
    else newest first."""
    return _most_negative_first(query, None) if filters.sort == "sentiment" else _newest_first(query)


def list_responses(session: Session, filters: ResponseFilters, *, cursor: str | None = None,
                   limit: int = PAGE_SIZE, now: datetime | None = None) -> ResponsePage:
    """One page of matching responses (newest first, or most negative first), the next page's cursor, the total."""
    query = filtered_query(session, filters, now)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if filters.sort == "sentiment":
        page_query = _most_negative_first(query, cursor).limit(limit + 1)
        items, next_cursor = keyset_page(list(session.scalars(page_query)), limit, encode_sentiment_cursor)
        return ResponsePage(items=items, next_cursor=next_cursor, total=total)
    after = _after(cursor)
    page_query = _newest_first(query if after is None else query.where(after)).limit(limit + 1)
    items, next_cursor = keyset_page(list(session.scalars(page_query)), limit, encode_cursor)
    return ResponsePage(items=items, next_cursor=next_cursor, total=total)


def rows_by_id(session: Session, model: Any, ids: set[int | None]) -> dict[int, Any]:
    """Rows of `model` by id, in one query."""
    wanted = {i for i in ids if i is not None}
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(wanted)))} if wanted else {}


def answer_label(session: Session, filters: ResponseFilters) -> str | None:
    """The answer filter in words: the question's prompt (when a survey is chosen) and the option picked."""
    if not filters.answer_filter:
        return None
    question_id, option = filters.answer_filter
    questions = session.scalar(select(Survey.questions).where(Survey.key == filters.survey)) if filters.survey else None
    prompt = next((q.get("prompt") for q in questions or [] if q.get("id") == question_id), None)
    return f"{prompt or question_id}: {option}"


def filter_choices(session: Session) -> dict[str, list[tuple[str, str]]]:
    """The surveys and touchpoints to choose from, as (key, name)."""
    return {
        "surveys": [(s.key, s.title) for s in session.scalars(select(Survey).order_by(Survey.title))],
        "touchpoints": [(t.key, t.name) for t in session.scalars(select(Touchpoint).order_by(Touchpoint.name))],
    }


def find_contacts(session: Session, external_id: str, crm: str | None = None) -> list[Contact]:
    """Contacts with this external id (in this CRM, when given)."""
    query = select(Contact).where(Contact.external_id == external_id)
    if crm:
        query = query.where(Contact.crm == crm)
    return list(session.scalars(query.order_by(Contact.crm)))
