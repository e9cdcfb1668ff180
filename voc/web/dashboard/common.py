"""What every dashboard page shares: the signed-in user, the CSRF token, navigation and filters."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from voc.auth.models import Role, User
from voc.periods import DEFAULT_PERIOD, PERIODS, period_bounds  # noqa: F401 - re-exported for pages
from voc.web.auth import csrf_token
from voc.web.templating import is_htmx, render

NAV = [
    ("dashboard_overview", "Overview"),
    ("dashboard_journey", "Journey"),
    ("dashboard_experience", "Experience"),
    ("dashboard_responses", "Responses"),
    ("dashboard_themes", "Themes"),
    ("dashboard_followups", "Follow-ups"),
    ("dashboard_surveys", "Surveys"),
    ("dashboard_settings", "Settings"),
]
ADMIN_NAV = [("dashboard_audit", "Audit log")]


def page(request: Request, user: User, template: str, context: dict[str, Any], *, block: str | None = None,
         status_code: int = 200) -> HTMLResponse:
    """Render a dashboard page (or, for htmx, the named block of it) with what every page needs."""
    is_admin = user.role == Role.admin
    base = {"user": user, "csrf": csrf_token(request), "nav": NAV + ADMIN_NAV if is_admin else NAV,
            "periods": list(PERIODS), "can_edit": Role(user.role).rank >= Role.analyst.rank, "is_admin": is_admin}
    return render(request, template, {**base, **context}, status_code=status_code,
                  block=block if block and is_htmx(request) else None)
