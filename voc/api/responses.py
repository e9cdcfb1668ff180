"""Responses: submitted with a survey token (public), read with an API key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime

from voc.api.deps import ResponsesReader, SessionDep
from voc.db import in_transaction
from voc.surveys import responses
from voc.surveys.schemas import ResponseCreated, ResponseIn, ResponsePage, ResponsePublic

router = APIRouter(tags=["responses"])


@router.post("/responses", status_code=201, response_model=ResponseCreated)
async def submit_response(body: ResponseIn, request: Request) -> ResponseCreated:
    """Submit answers; the survey token is the credential, and it works once."""
    # One hop to the database thread for the whole transaction (no per-request session dependency,
    # which costs a thread hop to open and another to close): this is the path every answer takes.
    given = [(a.question_id, a.value) for a in body.answers]
    response_id = await in_transaction(request.app.state.engine, responses.store_response, body.token, given)
    return ResponseCreated(id=response_id, status="completed")


@router.get("/responses", response_model=ResponsePage)
def list_responses(
    session: SessionDep, _key: ResponsesReader,
    survey: str | None = None, touchpoint: str | None = None, contact: str | None = None,
    from_: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    to: AwareDatetime | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ResponsePage:
    """Responses newest first; pass `next_cursor` back as `cursor` for the next page."""
    return responses.list_responses(session, survey=survey, touchpoint=touchpoint, contact=contact,
                                    since=from_, until=to, cursor=cursor, limit=limit)


@router.get("/responses/{response_id}", response_model=ResponsePublic)
def get_response(response_id: int, session: SessionDep, _key: ResponsesReader) -> ResponsePublic:
    return responses.get_response(session, response_id)
