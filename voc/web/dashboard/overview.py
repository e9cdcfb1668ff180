"""Dashboard: Overview (headline figures, trend, response rate, sentiment)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from voc.analytics import service
from voc.analytics.choices import choice_charts
from voc.analytics.key_drivers import key_drivers
from voc.api.deps import SessionDep
from voc.web.auth import Viewer
from voc.web.dashboard.common import page

router = APIRouter()


@router.get("/dashboard", name="dashboard_overview")
def overview_page(request: Request, user: Viewer, session: SessionDep, survey: str | None = None,
                  touchpoint: str | None = None, period: str | None = None, trend: str = "nps",
                  drivers: str | None = None) -> HTMLResponse:
    filters = service.resolve_filters(session, survey, touchpoint, period)
    context = {"filters": filters, **service.filter_options(session), **service.overview(session, filters, trend),
               "funnels": service.funnels(session, filters), "choices": choice_charts(session, filters),
               "drivers": key_drivers(session, filters, drivers), "drivers_route": "dashboard_overview"}
    return page(request, user, "dashboard/overview.html", context, block="results")
