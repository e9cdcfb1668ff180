"""Answers saved step by step (the partial response), and which step a customer is on.

A customer "leaves" a step by answering it or by skipping an optional question (saved as None), so
coming back to the link resumes at the first shown question not left yet, and drop-off can be counted
at that question (voc/surveys/funnel.py)."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Boolean, bindparam, case, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from voc.analytics.rollups import record_funnel_step
from voc.db import utcnow
from voc.surveys import answers as answer_rules
from voc.surveys.answers import TypedAnswer
from voc.surveys.models import PartialResponse
from voc.surveys.responses import OpenInvitation, SavedAnswers


@cache
def _save_statement(dialect_name: str) -> Any:
    """Insert the partial response or update it, built once per dialect (every step runs it).

    A null language or question keeps the stored one; `first_step` moves the start to this save, since
    a row made by a language choice alone has not started."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    table = PartialResponse.__table__
    statement = dialect.insert(table)
    new = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[table.c.invitation_id],
        set_={"answers": new.answers, "updated_at": new.updated_at,
              "last_question_id": func.coalesce(new.last_question_id, table.c.last_question_id),
              "language": func.coalesce(new.language, table.c.language),
              "started_at": case((bindparam("first_step", type_=Boolean), new.started_at),
                                 else_=table.c.started_at)},
        where=table.c.completed_at.is_(None))


def _write(session: Session, opened: OpenInvitation, answers: dict[str, Any], language: str | None,
           last_question_id: str | None, now: datetime) -> None:
    """Insert the invitation's partial response or update it (one statement: safe when two saves race)."""
    first_step = bool(answers) and not opened.saved
    if first_step and not opened.is_test:  # the first step left: the response starts now, not at a language choice
        record_funnel_step(session, ("started",), opened.survey_id, opened.touchpoint_id, now)
    connection = session.connection()
    connection.execute(_save_statement(connection.dialect.name), {
        "invitation_id": opened.invitation_id, "survey_id": opened.survey_id,
        "survey_version_id": opened.survey_version_id, "answers": answers, "last_question_id": last_question_id,
        "language": language, "started_at": now, "updated_at": now, "completed_at": None,
        "first_step": first_step})
    opened.partial = SavedAnswers(answers, language or (opened.partial.language if opened.partial else None))


def remember_language(session: Session, opened: OpenInvitation, language: str, now: datetime | None = None) -> None:
    """Keep the language the customer asked for (`?lang=`), so the link opens in it next time too."""
    if opened.partial is None or opened.partial.language != language:
        _write(session, opened, opened.saved, language, None, now or utcnow())


def save_step(session: Session, opened: OpenInvitation, question: dict, value: Any,
              now: datetime | None = None) -> TypedAnswer | dict:
    """Check one step's answer and save it (a blank optional answer is saved as skipped).

    Returns the typed answer, or the error for the customer (the step is then not left)."""
    checked = answer_rules.check_answer(question, value)
    if isinstance(checked, dict):
        return checked
    answers = {**opened.saved, question["id"]: answer_rules.raw_value(checked)}
    _write(session, opened, answers, None, question["id"], now or utcnow())
    return checked


def keep_unchecked(session: Session, opened: OpenInvitation, question: dict, value: Any,
                   now: datetime | None = None) -> None:
    """Going back: keep what was given on this step if it is valid, without requiring anything."""
    if answer_rules.is_blank(value):
        return
    checked = answer_rules.check_answer(question, value)
    if not isinstance(checked, dict):
        answers = {**opened.saved, question["id"]: answer_rules.raw_value(checked)}
        _write(session, opened, answers, None, question["id"], now or utcnow())


def shown(opened: OpenInvitation) -> list[dict]:
    """The questions this customer is asked, given what they answered so far."""
    return answer_rules.shown_questions(opened.version.questions, opened.saved, opened.prefilled)


def most_steps(opened: OpenInvitation) -> int:
    """The most questions this customer can be asked: those shown, and those whose condition waits on a
    question not answered yet. It never grows as the customer goes on, so progress never goes backwards."""
    known = {**opened.prefilled, **opened.saved}
    return sum(1 for q in opened.version.questions if q["id"] not in opened.prefilled and (
        answer_rules.is_shown(q, known) or (q.get("show_if") or {}).get("question_id") not in known))


def resume_step(opened: OpenInvitation) -> dict | None:
    """Where the customer goes on: the first shown question not left yet (None: every one is)."""
    return answer_rules.first_unanswered(opened.version.questions, opened.saved, opened.prefilled)


def step_after(opened: OpenInvitation, question_id: str) -> dict | None:
    """The shown question after this one (None: this was the last)."""
    questions = shown(opened)
    ids = [q["id"] for q in questions]
    if question_id not in ids:
        return resume_step(opened)
    later = questions[ids.index(question_id) + 1:]
    return later[0] if later else None


def step_before(opened: OpenInvitation, question_id: str) -> dict | None:
    """The shown question before this one (None: this is the first)."""
    questions = shown(opened)
    ids = [q["id"] for q in questions]
    if question_id not in ids:
        return resume_step(opened)
    return questions[ids.index(question_id) - 1] if ids.index(question_id) > 0 else None


def find_shown(opened: OpenInvitation, question_id: str | None) -> dict | None:
    """A question the customer may be asked now, by id (None for anything else)."""
    return next((q for q in shown(opened) if q["id"] == question_id), None) if question_id else None
