"""Touchpoints and surveys over JSON."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AwareDatetime

from voc import audit
from voc.api.deps import SessionDep, SurveysReader, SurveysWriterActor
from voc.api.errors import BODY_ERRORS, KEYED_ERRORS, error_responses
from voc.auth.models import ApiKey
from voc.auth.service import authenticate, require_scope
from voc.errors import Forbidden
from voc.surveys import service
from voc.surveys.funnel import Funnel, survey_funnel
from voc.surveys.schemas import (
    SurveyCreate,
    SurveyPublic,
    SurveyUpdate,
    TouchpointCreate,
    TouchpointPublic,
    TouchpointUpdate,
)

router = APIRouter(tags=["surveys"], responses=error_responses(KEYED_ERRORS))
_NO_SURVEY = {404: ("survey_not_found",)}
# A trigger naming a touchpoint voc does not know.
_TRIGGER_ERRORS = {422: ("touchpoint_not_found",)}


@router.post("/touchpoints", status_code=201, response_model=TouchpointPublic,
             responses=error_responses(KEYED_ERRORS, BODY_ERRORS, {409: ("touchpoint_exists",)}))
def create_touchpoint(body: TouchpointCreate, session: SessionDep, actor: SurveysWriterActor) -> TouchpointPublic:
    created = service.touchpoint_public(service.create_touchpoint(session, body))
    audit.record(session, actor, "touchpoint.created", "touchpoint", created.key, after=created)
    return created


@router.patch("/touchpoints/{key}", response_model=TouchpointPublic,
              responses=error_responses(KEYED_ERRORS, BODY_ERRORS, {404: ("touchpoint_not_found",)}))
def update_touchpoint(key: str, body: TouchpointUpdate, session: SessionDep,
                      actor: SurveysWriterActor) -> TouchpointPublic:
    """Rename a touchpoint or set its follow-up SLA in hours (null: VOC_FOLLOWUP_SLA_HOURS); cases already
    open keep the due time they were given."""
    before = audit.state(service.touchpoint_public(service.get_touchpoint(session, key)))
    after = service.touchpoint_public(service.update_touchpoint(session, key, body))
    audit.record(session, actor, "touchpoint.updated", "touchpoint", key, before=before, after=after)
    return after


@router.get("/touchpoints", response_model=list[TouchpointPublic])
def list_touchpoints(session: SessionDep, _key: SurveysReader) -> list[TouchpointPublic]:
    """Touchpoints in journey order."""
    return [service.touchpoint_public(t) for t in service.list_touchpoints(session)]


@router.post("/surveys", status_code=201, response_model=SurveyPublic,
             responses=error_responses(KEYED_ERRORS, BODY_ERRORS, {409: ("survey_exists",)}, _TRIGGER_ERRORS))
def create_survey(body: SurveyCreate, session: SessionDep, actor: SurveysWriterActor) -> SurveyPublic:
    created = service.survey_public(service.create_survey(session, body))
    audit.record(session, actor, "survey.created", "survey", created.key, after=created)
    return created


@router.get("/surveys", response_model=list[SurveyPublic])
def list_surveys(session: SessionDep, _key: SurveysReader) -> list[SurveyPublic]:
    return [service.survey_public(s) for s in service.list_surveys(session)]


@router.get("/surveys/{key}", response_model=SurveyPublic, responses=error_responses(KEYED_ERRORS, _NO_SURVEY))
def get_survey(key: str, session: SessionDep, _key: SurveysReader) -> SurveyPublic:
    return service.survey_public(service.get_survey(session, key))


@router.patch("/surveys/{key}", response_model=SurveyPublic,
              responses=error_responses(KEYED_ERRORS, BODY_ERRORS, _NO_SURVEY, _TRIGGER_ERRORS))
def update_survey(key: str, body: SurveyUpdate, session: SessionDep, actor: SurveysWriterActor) -> SurveyPublic:
    """Change a survey; changed questions make a new version, earlier responses keep theirs."""
    before = audit.state(service.survey_public(service.get_survey(session, key)))
    after = service.survey_public(service.update_survey(session, key, body))
    audit.record(session, actor, "survey.updated", "survey", key, before=before, after=after)
    return after


_bearer = HTTPBearer(auto_error=False, description="An API key made by `voc create-api-key`.")


def _funnel_reader(session: SessionDep,
                   credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> ApiKey:
    """A key that reads surveys or responses: the funnel is about both."""
    key = authenticate(session, credentials.credentials if credentials else None)
    try:
        require_scope(key, "surveys:read")
    except Forbidden:
        require_scope(key, "responses:read")
    return key


@router.get("/surveys/{key}/funnel", response_model=Funnel, responses=error_responses(KEYED_ERRORS, _NO_SURVEY))
def get_survey_funnel(key: str, session: SessionDep, _key: Annotated[ApiKey, Depends(_funnel_reader)],
                      from_: Annotated[AwareDatetime | None, Query(alias="from")] = None,
                      to: AwareDatetime | None = None) -> Funnel:
    """Opened → started → completed, and how many stopped at each question (invitations opened in [from, to))."""
    return survey_funnel(session, service.get_survey(session, key), since=from_, until=to)
