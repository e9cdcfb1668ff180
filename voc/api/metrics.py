"""Experience metrics over JSON."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from voc.api.deps import ResponsesReader, SessionDep
from voc.surveys.metrics import Metric, compute_metrics

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_model=dict[str, Metric])
def get_metrics(session: SessionDep, _key: ResponsesReader, survey: str | None = None,
                touchpoint: str | None = None,
                from_: Annotated[AwareDatetime | None, Query(alias="from")] = None,
                to: AwareDatetime | None = None) -> dict[str, Metric]:
    """NPS, CSAT and CES, each with n, a 95% interval and a small-sample flag (n < 30)."""
    return compute_metrics(session, survey=survey, touchpoint=touchpoint, since=from_, until=to)
