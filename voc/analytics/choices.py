"""How customers answered choice questions (single and multiple choice), summed from `choice_rollup`.

Each option's count is of respondents who picked it; its share is of n, the respondents who saw the question
(shown by its show_if, not prefilled by the CRM; skipping it still counts as seen), with a Wilson 95%
interval. A respondent may pick several options of a multiple-choice question, so those shares add up to
more than 100%. Read from a rollup per day, as every other figure: the cost does not grow with responses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from voc.analytics import charts
from voc.analytics.models import ALL, SEEN, ChoiceRollup
from voc.analytics.rollups import CHOICE_TYPES
from voc.analytics.service import Filters, explorer_params
from voc.surveys.metrics import SMALL_SAMPLE, wilson_interval
from voc.surveys.models import Survey


@dataclass
class ChoiceChart:
    """One choice question's distribution in a view."""

    survey_key: str
    survey_title: str
    question_id: str
    prompt: str
    multi: bool
    n: int  # respondents who saw the question
    bars: list[charts.Bar]

    @property
    def small(self) -> bool:
        return self.n < SMALL_SAMPLE


def _counts(session: Session, f: Filters, survey_ids: set[int]) -> dict[tuple[int, str, str], int]:
    """(survey, question, option) → respondents over the view's days (option SEEN: who saw the question)."""
    c = ChoiceRollup
    query = (select(c.survey_id, c.question_id, c.option, func.sum(c.answers))
             .where(c.survey_id.in_(survey_ids), c.touchpoint_id == (f.touchpoint_id or ALL),
                    c.day >= f.first_day, c.day <= f.last_day)
             .group_by(c.survey_id, c.question_id, c.option))
    return {(survey_id, question_id, option): int(count or 0)
            for survey_id, question_id, option, count in session.execute(query)}


def choice_charts(session: Session, f: Filters) -> list[ChoiceChart]:
    """A distribution per choice question: of the chosen survey (every question, even unanswered), else of
    every survey whose choice questions someone saw in the view; by survey title, then question order."""
    query = select(Survey).order_by(Survey.title, Survey.id)
    surveys = list(session.scalars(query.where(Survey.id == f.survey_id) if f.survey_id else query))
    asked = [(survey, question) for survey in surveys for question in survey.questions
             if question.get("type") in CHOICE_TYPES]
    if not asked:
        return []
    counts = _counts(session, f, {survey.id for survey, _ in asked})
    found = []
    for survey, question in asked:
        n = counts.get((survey.id, question["id"], SEEN), 0)
        if not n and not f.survey_id:
            continue
        options: list[str] = list(question.get("options") or [])
        # Options counted earlier but no longer offered are shown after the current ones.
        options += sorted(o for (s, q, o) in counts if s == survey.id and q == question["id"]
                          and o != SEEN and o not in options)
        rows: list[tuple[str, int, float, float, float, dict[str, Any]]] = []
        for option in options:
            count = counts.get((survey.id, question["id"], option), 0)
            low, high = wilson_interval(count, n) if n else (0.0, 0.0)
            rows.append((option, count, count / n if n else 0.0, low, high,
                         explorer_params(f, survey=survey.key, answer=f"{question['id']}:{option}")))
        found.append(ChoiceChart(survey.key, survey.title, question["id"], question.get("prompt") or question["id"],
                                 question["type"] == "multi_choice", n, charts.share_bars(rows, n)))
    return found
