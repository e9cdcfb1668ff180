"""Dashboard: Experience (touchpoints × the five experiential dimensions)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from voc.analytics import service, touchpoints
from voc.api.deps import SessionDep
from voc.web.auth import Viewer
from voc.web.dashboard.common import page

router = APIRouter()


@router.get("/dashboard/experience", name="dashboard_experience")
def experience_page(request: Request, user: Viewer, session: SessionDep, survey: str | None = None,
                    touchpoint: str | None = None, period: str | None = None) -> HTMLResponse:
    filters = service.resolve_filters(session, survey, touchpoint, period)
    context = {"filters": filters, **service.filter_options(session), **touchpoints.experience(session, filters)}
    return page(request, user, "dashboard/experience.html", context, block="results")
