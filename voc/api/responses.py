"""Responses: submitted with a survey token (public), read with an API key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime

from voc.api.deps import ResponsesReader, SessionDep
from voc.api.errors import BODY_ERRORS, KEYED_ERRORS, error_responses
from voc.db import in_transaction
from voc.surveys import responses
from voc.surveys.schemas import ResponseCreated, ResponseIn, ResponsePage, ResponsePublic

router = APIRouter(tags=["responses"])


# The answer path is public: the survey token is the credential, so no 401 or 403; instead a limit per client
# address (429, voc.web.security.PublicRateLimit).
_SUBMIT_ERRORS = error_responses(BODY_ERRORS, {
    404: ("token_invalid",), 409: ("already_answered", "survey_inactive"), 410: ("token_expired",),
    422: ("answer_required", "answer_invalid", "answer_out_of_range", "answer_too_long", "unknown_question",
          "duplicate_answer"),
    425: ("invitation_not_open",), 429: ("rate_limited",), 503: ("busy",)})


@router.post("/responses", status_code=201, response_model=ResponseCreated, responses=_SUBMIT_ERRORS)
async def submit_response(body: ResponseIn, request: Request) -> ResponseCreated:
    """Submit answers; the survey token is the credential, and it works once.

    Refused: 404 `token_invalid`, 409 `already_answered` or `survey_inactive`, 410 `token_expired`, 425
    `invitation_not_open` (the trigger's delay is not over), 422 for answers that do not fit their question
    (`details` has one entry per question), 429 `rate_limited` when one address sends too many."""
    # One hop to the database thread for the whole transaction (no per-request session dependency,
    # which costs a thread hop to open and another to close): this is the path every answer takes.
    given = [(a.question_id, a.value) for a in body.answers]
    response_id = await in_transaction(request.app.state.engine, responses.store_response_batch, body.token,
                                       given)
    return ResponseCreated(id=response_id, status="completed")


@router.get("/responses", response_model=ResponsePage,
            responses=error_responses(KEYED_ERRORS, {422: ("invalid_cursor",)}))
def list_responses(
    session: SessionDep, _key: ResponsesReader,
    survey: str | None = None, touchpoint: str | None = None, contact: str | None = None,
    from_: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    to: AwareDatetime | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    test: Annotated[bool, Query(description="only the test responses (from the dashboard's test invitations), "
                                            "which are otherwise left out")] = False,
) -> ResponsePage:
    """Responses newest first; pass `next_cursor` back as `cursor` for the next page."""
    return responses.list_responses(session, survey=survey, touchpoint=touchpoint, contact=contact,
                                    since=from_, until=to, cursor=cursor, limit=limit, test=test)


@router.get("/responses/{response_id}", response_model=ResponsePublic,
            responses=error_responses(KEYED_ERRORS, {404: ("response_not_found",)}))
def get_response(response_id: int, session: SessionDep, _key: ResponsesReader) -> ResponsePublic:
    return responses.get_response(session, response_id)
