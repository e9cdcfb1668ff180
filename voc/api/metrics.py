"""Experience metrics over JSON."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from voc.api.deps import ResponsesReader, SessionDep
from voc.api.errors import KEYED_ERRORS, error_responses
from voc.periods import explicit_or_period
from voc.surveys.metrics import Metric, compute_metrics

router = APIRouter(tags=["metrics"], responses=error_responses(KEYED_ERRORS))


@router.get("/metrics", response_model=dict[str, Metric])
def get_metrics(session: SessionDep, _key: ResponsesReader, survey: str | None = None,
                touchpoint: str | None = None,
                from_: Annotated[AwareDatetime | None, Query(alias="from")] = None,
                to: AwareDatetime | None = None,
                period: Literal["7d", "30d", "90d", "365d"] | None = None) -> dict[str, Metric]:
    """NPS, CSAT and CES, each with n, a 95% interval and a small-sample flag (n < 30).

    Over completed responses with `from` <= completed_at < `to` when either is given; otherwise over `period`
    (default 90d): whole days in the workspace time zone (VOC_TIME_ZONE, UTC by default), today included, the
    same bounds and the same responses as the dashboard's period."""
    since, until = explicit_or_period(from_, to, period)
    return compute_metrics(session, survey=survey, touchpoint=touchpoint, since=since, until=until)
