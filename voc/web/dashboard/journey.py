"""Dashboard: Journey (the experienced emotion map along the journey)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from voc.analytics import service, touchpoints
from voc.analytics.key_drivers import key_drivers
from voc.api.deps import SessionDep
from voc.web.auth import Viewer
from voc.web.dashboard.common import page

router = APIRouter()


@router.get("/dashboard/journey", name="dashboard_journey")
def journey_page(request: Request, user: Viewer, session: SessionDep, survey: str | None = None,
                 touchpoint: str | None = None, period: str | None = None,
                 drivers: str | None = None) -> HTMLResponse:
    filters = service.resolve_filters(session, survey, touchpoint, period)
    explorer = request.url_for("dashboard_responses").path
    context = {"filters": filters, **service.filter_options(session),
               **touchpoints.journey(session, filters, link=lambda params: f"{explorer}?{urlencode(params)}"),
               "drivers": key_drivers(session, filters, drivers), "drivers_route": "dashboard_journey"}
    return page(request, user, "dashboard/journey.html", context, block="results")
