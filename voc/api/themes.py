"""Themes of customers' comments over JSON."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from voc.api.deps import ResponsesReader, SessionDep
from voc.api.errors import KEYED_ERRORS, error_responses
from voc.sentiment.reports import ThemeCount, ThemeSort, theme_counts

router = APIRouter(tags=["themes"], responses=error_responses(KEYED_ERRORS))


@router.get("/themes", response_model=list[ThemeCount])
def list_themes(session: SessionDep, _key: ResponsesReader, survey: str | None = None,
                touchpoint: str | None = None, from_: Annotated[AwareDatetime | None, Query(alias="from")] = None,
                to: AwareDatetime | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                sort: ThemeSort = "impact") -> list[ThemeCount]:
    """The top themes with volume, sentiment and where they come up: by impact (negative mentions), then
    mentions; or by mentions first with `sort=mentions`."""
    return theme_counts(session, survey=survey, touchpoint=touchpoint, since=from_, until=to, limit=limit,
                        sort=sort)
