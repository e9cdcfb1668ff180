"""Dashboard: settings, one page per section (API keys, webhooks and CRM, users, sites).

/dashboard/settings leads to the first section; its older form `?endpoint=N` (one long page with the
delivery log of endpoint N) leads to that endpoint's page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from voc.ids import parse_row_id
from voc.web.auth import Viewer
from voc.web.dashboard.settings import keys, sites, users, webhooks
from voc.web.dashboard.settings.common import SECTIONS

router = APIRouter()


@router.get("/dashboard/settings", name="dashboard_settings")
def settings_page(request: Request, _user: Viewer, endpoint: str | None = None) -> RedirectResponse:
    """The first settings page; an endpoint's delivery log for the old `?endpoint=N` (the webhooks page for
    an `N` no row can have)."""
    endpoint_id = parse_row_id(endpoint)
    if endpoint is None:
        target = request.url_for(SECTIONS[0][0])
    elif endpoint_id is not None:
        target = request.url_for("settings_webhook", endpoint_id=endpoint_id)
    else:
        target = request.url_for("settings_webhooks")
    return RedirectResponse(target.path, status_code=303)


# The app adds every one of these routers' routes itself (voc.app.add_routes).
routers = [router, keys.router, webhooks.router, users.router, sites.router]
