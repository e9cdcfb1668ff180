"""Completion and drop-off: invitations opened, responses started and completed, and at which question
the unfinished ones stopped.

Opened, started and completed are each counted on the day they happened, from the rollups (whole UTC
days), so the funnel costs the same at any volume. Started: a first step left (an answer, or an optional
question skipped), or a response submitted in one go. Drop-off per question reads the unfinished partial
responses started in the period: each stopped at the first shown question it had not left, the same one
the link resumes at (voc/surveys/partials.py); one that left every shown question but never sent is
counted apart."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlmodel import Session

from voc.analytics.models import ALL, Rollup, RollupTotal
from voc.surveys import answers as answer_rules
from voc.surveys.models import Contact, Event, Invitation, PartialResponse, Survey, SurveyVersion


class QuestionDropOff(BaseModel):
    question_id: str
    prompt: str
    dropped: int  # started, not completed, and this was the first shown question not answered


class Funnel(BaseModel):
    survey: str
    title: str
    opened: int
    started: int
    completed: int
    completion_rate: float | None  # completed / opened
    questions: list[QuestionDropOff]
    dropped_before_sending: int  # every shown question answered, never sent


def survey_funnels(session: Session, surveys: list[Survey], since: datetime | None = None,
                   until: datetime | None = None, touchpoint_id: int | None = None) -> list[Funnel]:
    """The funnel of each survey over [since, until) (whole UTC days), in a few queries."""
    if not surveys:
        return []
    ids = [s.id for s in surveys]
    counts = _rolled_up(session, ids, since, until, touchpoint_id)
    scope = [PartialResponse.survey_id.in_(ids), Invitation.is_test.is_(False)]
    if since:
        scope.append(PartialResponse.started_at >= datetime.combine(since.astimezone(UTC).date(), time(), UTC))
    if until:
        scope.append(PartialResponse.started_at < datetime.combine(_last_day(until), time(), UTC)
                     + timedelta(days=1))
    if touchpoint_id:
        scope.append(Invitation.touchpoint_id == touchpoint_id)
    # Only the unfinished partial responses are read one by one: their answers say where they stopped.
    unfinished = session.execute(
        select(Invitation.survey_id, PartialResponse.survey_version_id, PartialResponse.answers, Contact.attributes,
               Event.attributes)
        .join(PartialResponse, PartialResponse.invitation_id == Invitation.id)
        .join(Contact, Contact.id == Invitation.contact_id)
        .outerjoin(Event, Event.id == Invitation.event_id)
        .where(*scope, Invitation.completed_at.is_(None))).all()
    version_ids = {row[1] for row in unfinished}
    questions_of = dict(session.execute(select(SurveyVersion.id, SurveyVersion.questions)
                                        .where(SurveyVersion.id.in_(version_ids))).all()) if version_ids else {}
    current = dict(session.execute(select(SurveyVersion.survey_id, SurveyVersion.questions)
                                   .join(Survey, Survey.id == SurveyVersion.survey_id)
                                   .where(Survey.id.in_(ids), SurveyVersion.version == Survey.version)).all())
    stopped_at: dict[int, Counter[str]] = {survey_id: Counter() for survey_id in ids}
    at_end: Counter[int] = Counter()
    prompts: dict[int, dict[str, str]] = {survey_id: {} for survey_id in ids}
    for survey_id, version_id, saved, contact_attributes, event_attributes in unfinished:
        if not saved:
            continue  # opened (and maybe chose a language), never left a step
        questions = questions_of.get(version_id) or []
        known = {**(contact_attributes or {}), **(event_attributes or {})}
        question = answer_rules.first_unanswered(questions, saved, answer_rules.prefilled_answers(questions, known))
        if question is None:
            at_end[survey_id] += 1
        else:
            stopped_at[survey_id][question["id"]] += 1
            prompts[survey_id].setdefault(question["id"], question["prompt"])
    funnels = []
    for survey in surveys:
        opened, started, completed = counts.get(survey.id, (0, 0, 0))
        order = [(q["id"], q["prompt"]) for q in current.get(survey.id) or survey.questions]
        order += [(qid, prompt) for qid, prompt in prompts[survey.id].items() if qid not in dict(order)]
        funnels.append(Funnel(
            survey=survey.key, title=survey.title, opened=opened, started=started,
            completed=completed, completion_rate=completed / opened if opened else None,
            questions=[QuestionDropOff(question_id=qid, prompt=prompt, dropped=stopped_at[survey.id][qid])
                       for qid, prompt in order],
            dropped_before_sending=at_end[survey.id]))
    return funnels


def _last_day(until: datetime) -> date:
    return (until - timedelta(microseconds=1)).astimezone(UTC).date()


def _rolled_up(session: Session, ids: list[int], since: datetime | None, until: datetime | None,
               touchpoint_id: int | None) -> dict[int, tuple[int, int, int]]:
    """Per survey, (opened, started, completed) summed over the period's days from the rollups."""
    table = Rollup if touchpoint_id else RollupTotal
    query = (select(table.survey_id, func.sum(table.opened), func.sum(table.started), func.sum(table.responses))
             .where(table.survey_id.in_(ids), table.touchpoint_id == (touchpoint_id or ALL))
             .group_by(table.survey_id))
    if since:
        query = query.where(table.day >= since.astimezone(UTC).date())
    if until:
        query = query.where(table.day <= _last_day(until))
    return {survey_id: (int(opened or 0), int(started or 0), int(completed or 0))
            for survey_id, opened, started, completed in session.execute(query)}


def survey_funnel(session: Session, survey: Survey, since: datetime | None = None,
                  until: datetime | None = None) -> Funnel:
    """One survey's funnel over invitations opened in [since, until) (either may be open)."""
    return survey_funnels(session, [survey], since, until)[0]


def dashboard_funnels(session: Session, survey_id: int | None, touchpoint_id: int | None, since: datetime,
                      until: datetime) -> list[Funnel]:
    """The overview's funnels: the chosen survey, else every survey opened in the period."""
    query = select(Survey).order_by(Survey.title)
    if survey_id:
        query = query.where(Survey.id == survey_id)
    funnels = survey_funnels(session, list(session.scalars(query)), since, until, touchpoint_id)
    return [funnel for funnel in funnels if survey_id or funnel.opened]
