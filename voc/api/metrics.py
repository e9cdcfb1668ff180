"""Experience metrics over JSON."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from voc.analytics.key_drivers import DriversPublic, drivers_public
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


@router.get("/drivers", response_model=DriversPublic,
            responses=error_responses(KEYED_ERRORS, {404: ("survey_not_found", "touchpoint_not_found")}))
def get_drivers(session: SessionDep, _key: ResponsesReader, survey: str | None = None,
                touchpoint: str | None = None, period: Literal["7d", "30d", "90d", "365d"] | None = None,
                measure: Literal["nps", "csat", "ces"] | None = None) -> DriversPublic:
    """What moves a score: each touchpoint's, theme's and negatively felt dimension's effect on it, with a 95%
    interval, reach and impact (= reach × effect), the most negative impact first; the dashboard's "Fix first".

    `measure` defaults to the survey's first score question, else the one most answered in the period
    (default 90d, the dashboard's days). NPS is coded +100 promoter, 0 passive, −100 detractor and CSAT 100 for
    a 4 or 5, so effects read in the measure's own points. Fewer than 30 answers with (or without) a driver
    give null figures. Read from the period's most recent answers (`sample_cut` says when there were more)."""
    return drivers_public(session, survey=survey, touchpoint=touchpoint, period=period, measure=measure)
