"""Dashboard: Follow-ups."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from voc.web.auth import Viewer
from voc.web.dashboard.common import page

router = APIRouter()


@router.get("/dashboard/followups", name="dashboard_followups")
def followups_page(request: Request, user: Viewer) -> HTMLResponse:
    return page(request, user, "dashboard/page.html", {"title": "Follow-ups"})
