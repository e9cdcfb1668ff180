"""Dashboard: Themes (what customers talk about, and how it feels)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from voc.analytics import service, themes
from voc.api.deps import SessionDep
from voc.web.auth import Viewer
from voc.web.dashboard.common import page

router = APIRouter()


@router.get("/dashboard/themes", name="dashboard_themes")
def themes_page(request: Request, user: Viewer, session: SessionDep, survey: str | None = None,
                touchpoint: str | None = None, period: str | None = None) -> HTMLResponse:
    filters = service.resolve_filters(session, survey, touchpoint, period)
    context = {"filters": filters, **service.filter_options(session), **themes.themes(session, filters)}
    return page(request, user, "dashboard/themes.html", context, block="results")
