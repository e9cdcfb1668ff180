"""Completion and drop-off: of the invitations opened, how many were started and completed, and at
which question the others stopped.

Counted over invitations opened in the period. Started: at least one step left (an answer, or an
optional question skipped), or completed. A customer who started and did not complete stopped at the
first shown question they had not left, the same one the link resumes at (voc/surveys/partials.py);
one who left every shown question but never sent is counted apart."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlmodel import Session

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
    """The funnel of each survey over invitations opened in [since, until), in a few queries."""
    if not surveys:
        return []
    ids = [s.id for s in surveys]
    scope = [Invitation.survey_id.in_(ids), Invitation.opened_at.is_not(None)]
    if since:
        scope.append(Invitation.opened_at >= since)
    if until:
        scope.append(Invitation.opened_at < until)
    if touchpoint_id:
        scope.append(Invitation.touchpoint_id == touchpoint_id)
    counts = {survey_id: (opened, completed) for survey_id, opened, completed in session.execute(
        select(Invitation.survey_id, func.count(Invitation.id), func.count(Invitation.completed_at))
        .where(*scope).group_by(Invitation.survey_id))}
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
    started: Counter[int] = Counter()
    stopped_at: dict[int, Counter[str]] = {survey_id: Counter() for survey_id in ids}
    at_end: Counter[int] = Counter()
    prompts: dict[int, dict[str, str]] = {survey_id: {} for survey_id in ids}
    for survey_id, version_id, saved, contact_attributes, event_attributes in unfinished:
        if not saved:
            continue  # opened (and maybe chose a language), never left a step
        started[survey_id] += 1
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
        opened, completed = counts.get(survey.id, (0, 0))
        order = [(q["id"], q["prompt"]) for q in current.get(survey.id) or survey.questions]
        order += [(qid, prompt) for qid, prompt in prompts[survey.id].items() if qid not in dict(order)]
        funnels.append(Funnel(
            survey=survey.key, title=survey.title, opened=opened, started=started[survey.id] + completed,
            completed=completed, completion_rate=completed / opened if opened else None,
            questions=[QuestionDropOff(question_id=qid, prompt=prompt, dropped=stopped_at[survey.id][qid])
                       for qid, prompt in order],
            dropped_before_sending=at_end[survey.id]))
    return funnels


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
