"""Dashboard: Themes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from voc.web.auth import Viewer
from voc.web.dashboard.common import page

router = APIRouter()


@router.get("/dashboard/themes", name="dashboard_themes")
def themes_page(request: Request, user: Viewer) -> HTMLResponse:
    return page(request, user, "dashboard/page.html", {"title": "Themes"})
