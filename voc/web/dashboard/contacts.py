"""Dashboard: one customer's experience across touchpoints."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from voc.web.auth import Viewer
from voc.web.dashboard.common import page

router = APIRouter()


@router.get("/dashboard/contacts/{external_id}", name="dashboard_contact")
def contact_page(external_id: str, request: Request, user: Viewer) -> HTMLResponse:
    return page(request, user, "dashboard/page.html", {"title": f"Customer {external_id}"})
