"""Touchpoints and surveys over JSON."""

from __future__ import annotations

from fastapi import APIRouter

from voc.api.deps import SessionDep, SurveysReader, SurveysWriter
from voc.surveys import service
from voc.surveys.schemas import SurveyCreate, SurveyPublic, SurveyUpdate, TouchpointCreate, TouchpointPublic

router = APIRouter(tags=["surveys"])


@router.post("/touchpoints", status_code=201, response_model=TouchpointPublic)
def create_touchpoint(body: TouchpointCreate, session: SessionDep, _key: SurveysWriter) -> TouchpointPublic:
    return service.touchpoint_public(service.create_touchpoint(session, body))


@router.get("/touchpoints", response_model=list[TouchpointPublic])
def list_touchpoints(session: SessionDep, _key: SurveysReader) -> list[TouchpointPublic]:
    """Touchpoints in journey order."""
    return [service.touchpoint_public(t) for t in service.list_touchpoints(session)]


@router.post("/surveys", status_code=201, response_model=SurveyPublic)
def create_survey(body: SurveyCreate, session: SessionDep, _key: SurveysWriter) -> SurveyPublic:
    return service.survey_public(service.create_survey(session, body))


@router.get("/surveys", response_model=list[SurveyPublic])
def list_surveys(session: SessionDep, _key: SurveysReader) -> list[SurveyPublic]:
    return [service.survey_public(s) for s in service.list_surveys(session)]


@router.get("/surveys/{key}", response_model=SurveyPublic)
def get_survey(key: str, session: SessionDep, _key: SurveysReader) -> SurveyPublic:
    return service.survey_public(service.get_survey(session, key))


@router.patch("/surveys/{key}", response_model=SurveyPublic)
def update_survey(key: str, body: SurveyUpdate, session: SessionDep, _key: SurveysWriter) -> SurveyPublic:
    """Change a survey; changed questions make a new version, earlier responses keep theirs."""
    return service.survey_public(service.update_survey(session, key, body))
