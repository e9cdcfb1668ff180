"""Dashboard: the audit log (admins only): who changed what, when and from where; 50 entries a page."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from voc import audit
from voc.api.deps import SessionDep
from voc.errors import Invalid
from voc.web.auth import Admin
from voc.web.dashboard.common import page

router = APIRouter()
PAGE_SIZE = 50


def _day(text: str, name: str) -> date | None:
    """A YYYY-MM-DD filter value (empty: none), or Invalid."""
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(f"{name}: give a date as YYYY-MM-DD", code="invalid_date") from None


def _as_text(values: dict[str, Any] | None) -> str:
    """A state as indented JSON text (escaped by the template like any other text)."""
    return json.dumps(values, indent=1, ensure_ascii=False, sort_keys=True) if values else ""


def _start_of(day: date | None) -> datetime | None:
    return datetime.combine(day, time(), tzinfo=UTC) if day else None


@router.get("/dashboard/audit", name="dashboard_audit")
def audit_page(request: Request, user: Admin, session: SessionDep, action: str = "", actor: str = "",
               object: str = "", from_: str = Query("", alias="from"), to: str = "",  # noqa: A002
               cursor: str | None = None) -> HTMLResponse:
    """Entries newest first; `from` and `to` are days (UTC), both included."""
    first, last = _day(from_, "from"), _day(to, "to")
    entries = audit.list_entries(session, action=action.strip() or None, actor=actor.strip() or None,
                                 object_=object.strip() or None, since=_start_of(first),
                                 until=_start_of(last + timedelta(days=1)) if last else None,
                                 cursor=cursor or None, limit=PAGE_SIZE)
    filters = {"action": action, "actor": actor, "object": object, "from": from_, "to": to}
    next_url = None
    if entries.next_cursor:
        query = {k: v for k, v in filters.items() if v}
        next_url = request.url_for("dashboard_audit").include_query_params(**query, cursor=entries.next_cursor)
    return page(request, user, "dashboard/audit.html", {"rows": [(e, _as_text(e.before), _as_text(e.after))
                                                                 for e in entries.items],
                                                        "filters": filters,
                                                        "next_url": next_url, "first_page": not cursor})
