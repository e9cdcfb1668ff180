"""Touchpoints, surveys (with frozen versions) and contacts: the rules, shared by API, CLI and web."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from voc.db import utcnow
from voc.errors import Conflict, Invalid, NotFound
from voc.surveys.models import Contact, JourneyStage, Response, Survey, SurveyVersion, Touchpoint
from voc.surveys.schemas import (
    ContactRef,
    Question,
    SurveyCreate,
    SurveyPublic,
    SurveyTranslation,
    SurveyUpdate,
    TouchpointCreate,
    TouchpointPublic,
    TouchpointUpdate,
    Translations,
    Trigger,
    check_translations,
)


def create_touchpoint(session: Session, body: TouchpointCreate) -> Touchpoint:
    """Add a touchpoint; its key is unique."""
    if session.scalar(select(Touchpoint.id).where(Touchpoint.key == body.key)):
        raise Conflict(f"touchpoint {body.key!r} exists already", code="touchpoint_exists")
    touchpoint = Touchpoint(key=body.key, name=body.name, stage=body.stage.value, channel=body.channel,
                            followup_sla_hours=body.followup_sla_hours)
    session.add(touchpoint)
    session.flush()
    return touchpoint


def get_touchpoint(session: Session, key: str) -> Touchpoint:
    """The touchpoint with this key, or 404 `touchpoint_not_found`."""
    touchpoint = session.scalar(select(Touchpoint).where(Touchpoint.key == key))
    if touchpoint is None:
        raise NotFound(f"no touchpoint {key[:64]!r}", code="touchpoint_not_found")
    return touchpoint


def update_touchpoint(session: Session, key: str, body: TouchpointUpdate) -> Touchpoint:
    """Rename a touchpoint or set its follow-up SLA (null: the workspace's); only the fields sent change."""
    touchpoint = get_touchpoint(session, key)
    for name, value in body.model_dump(exclude_unset=True).items():
        if name == "name" and value is None:
            raise Invalid("a touchpoint needs a name", code="validation_error")
        setattr(touchpoint, name, value)
    session.add(touchpoint)
    session.flush()
    return touchpoint


def list_touchpoints(session: Session) -> list[Touchpoint]:
    """All touchpoints in journey order."""
    touchpoints = list(session.scalars(select(Touchpoint)))
    return sorted(touchpoints, key=lambda t: (JourneyStage(t.stage).order, t.name))


def touchpoint_public(touchpoint: Touchpoint) -> TouchpointPublic:
    stage = JourneyStage(touchpoint.stage)
    return TouchpointPublic(key=touchpoint.key, name=touchpoint.name, stage=stage, stage_order=stage.order,
                            channel=touchpoint.channel, followup_sla_hours=touchpoint.followup_sla_hours,
                            created_at=touchpoint.created_at)


def _check_trigger_touchpoints(session: Session, triggers: list[Trigger]) -> None:
    known = set(session.scalars(select(Touchpoint.key)))
    for index, trigger in enumerate(triggers):
        if trigger.touchpoint not in known:
            raise Invalid(f"triggers[{index}].touchpoint: no touchpoint {trigger.touchpoint!r}",
                          code="touchpoint_not_found",
                          details=[{"path": ["triggers", index, "touchpoint"], "message": "unknown touchpoint"}])


def _dump(items: list[Question] | list[Trigger]) -> list[dict[str, Any]]:
    return [item.model_dump(mode="json", exclude_none=True) for item in items]


def _dump_translations(translations: Translations) -> dict[str, Any]:
    return {language: text.model_dump(mode="json", exclude_none=True) for language, text in translations.items()}


def _questions_of(survey: Survey) -> list[Question]:
    return [Question.model_validate(q) for q in survey.questions]


def _translations_of(survey: Survey) -> Translations:
    return {language: SurveyTranslation.model_validate(t) for language, t in (survey.translations or {}).items()}


def _check_translations(questions: list[Question], translations: Translations) -> None:
    try:
        check_translations(questions, translations)
    except ValueError as error:
        raise Invalid(str(error), code="validation_error",
                      details=[{"path": ["translations"], "message": str(error)}]) from error


def _freeze_version(session: Session, survey: Survey) -> SurveyVersion:
    version = SurveyVersion(survey_id=survey.id, version=survey.version, title=survey.title,
                            questions=survey.questions, thank_you=survey.thank_you, layout=survey.layout,
                            language=survey.language, translations=survey.translations)
    session.add(version)
    session.flush()
    return version


def create_survey(session: Session, body: SurveyCreate) -> Survey:
    """Add a survey and freeze its first version."""
    if session.scalar(select(Survey.id).where(Survey.key == body.key)):
        raise Conflict(f"survey {body.key!r} exists already", code="survey_exists")
    _check_trigger_touchpoints(session, body.triggers)
    survey = Survey(key=body.key, title=body.title, status=body.status.value, questions=_dump(body.questions),
                    triggers=_dump(body.triggers), recontact_days=body.recontact_days, thank_you=body.thank_you,
                    layout=body.layout, language=body.language, anonymous=body.anonymous,
                    translations=_dump_translations(body.translations))
    session.add(survey)
    session.flush()
    _freeze_version(session, survey)
    return survey


def update_survey(session: Session, key: str, body: SurveyUpdate) -> Survey:
    """Change a survey; a change to what customers see makes a new version, old responses keep theirs."""
    survey = get_survey(session, key)
    changes = body.model_dump(exclude_unset=True)
    if any(changes.get(name) is None and name in changes for name in ("title", "status", "questions")):
        raise Invalid("title, status and questions cannot be null", code="validation_error")
    if body.triggers is not None:
        _check_trigger_touchpoints(session, body.triggers)
        survey.triggers = _dump(body.triggers)
    if body.status is not None:
        survey.status = body.status.value
    if body.recontact_days is not None:
        survey.recontact_days = body.recontact_days
    if body.anonymous is not None:
        survey.anonymous = body.anonymous
    if body.translations is not None and body.questions is None:
        _check_translations(_questions_of(survey), body.translations)
    if body.questions is not None and body.translations is None:
        _check_translations(body.questions, _translations_of(survey))
    seen_by_customer = {
        "title": body.title, "thank_you": body.thank_you,
        "questions": _dump(body.questions) if body.questions is not None else None,
        "layout": body.layout, "language": body.language,
        "translations": _dump_translations(body.translations) if body.translations is not None else None,
    }
    changed = {name: value for name, value in seen_by_customer.items()
               if value is not None and value != getattr(survey, name)}
    if changed:
        for name, value in changed.items():
            setattr(survey, name, value)
        survey.version += 1
        _freeze_version(session, survey)
    survey.updated_at = utcnow()
    session.add(survey)
    session.flush()
    return survey


def get_survey(session: Session, key: str) -> Survey:
    survey = session.scalar(select(Survey).where(Survey.key == key))
    if survey is None:
        raise NotFound(f"no survey {key!r}", code="survey_not_found")
    return survey


def list_surveys(session: Session) -> list[Survey]:
    return list(session.scalars(select(Survey).order_by(Survey.id)))


def current_version(session: Session, survey: Survey) -> SurveyVersion:
    version = session.scalar(select(SurveyVersion).where(SurveyVersion.survey_id == survey.id,
                                                         SurveyVersion.version == survey.version))
    if version is None:  # pragma: no cover - every survey is created with one
        version = _freeze_version(session, survey)
    return version


def survey_public(survey: Survey) -> SurveyPublic:
    return SurveyPublic.model_validate(survey, from_attributes=True)


def count_responses(session: Session, survey: Survey) -> int:
    """The survey's responses, test responses left out."""
    return session.scalar(select(func.count(Response.id)).where(Response.survey_id == survey.id,
                                                               Response.is_test.is_(False))) or 0


def upsert_contact(session: Session, ref: ContactRef) -> Contact:
    """Find the CRM's contact or add it; what the CRM sends now updates what voc knew."""
    contact = session.scalar(select(Contact).where(Contact.crm == ref.crm, Contact.external_id == ref.external_id))
    if contact is None:
        contact = Contact(crm=ref.crm, external_id=ref.external_id, email=ref.email,
                          attributes=dict(ref.attributes))
        try:
            with session.begin_nested():  # two first events of one new customer may arrive at once
                session.add(contact)
                session.flush()
            return contact
        except IntegrityError:
            contact = session.scalars(select(Contact).where(Contact.crm == ref.crm,
                                                            Contact.external_id == ref.external_id)).one()
    changed = False
    if ref.email and ref.email != contact.email:
        contact.email, changed = ref.email, True
    if ref.attributes:
        merged = {**contact.attributes, **ref.attributes}
        if merged != contact.attributes:
            contact.attributes, changed = merged, True
    if changed:
        contact.updated_at = utcnow()
        session.add(contact)
    return contact


def get_contact(session: Session, external_id: str, crm: str | None = None) -> Contact:
    query = select(Contact).where(Contact.external_id == external_id)
    if crm:
        query = query.where(Contact.crm == crm)
    contact = session.scalars(query.order_by(Contact.id)).first()
    if contact is None:
        raise NotFound(f"no contact {external_id!r}", code="contact_not_found")
    return contact


def set_translation(session: Session, key: str, language: str, translation: SurveyTranslation) -> Survey:
    """Replace the survey's texts in one more language (an empty translation removes it); a change makes a new
    version, as any change customers see does. What is left out falls back to the survey's own language."""
    survey = get_survey(session, key)
    if language == survey.language:
        raise Invalid(f"{language!r} is the survey's own language: edit the survey itself",
                      code="validation_error", details=[{"path": ["language"], "message": "the survey's own language"}])
    translations = {lang: SurveyTranslation.model_validate(text) for lang, text in (survey.translations or {}).items()}
    if translation.model_dump(exclude_none=True, exclude_defaults=True):
        translations[language] = translation
    else:
        translations.pop(language, None)
    return update_survey(session, key, SurveyUpdate(translations=translations))
