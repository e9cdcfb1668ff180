"""Dashboard: Experience."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from voc.web.auth import Viewer
from voc.web.dashboard.common import page

router = APIRouter()


@router.get("/dashboard/experience", name="dashboard_experience")
def experience_page(request: Request, user: Viewer) -> HTMLResponse:
    return page(request, user, "dashboard/page.html", {"title": "Experience"})
