"""Dashboard: follow-ups of unhappy customers (analysts assign, move and annotate cases; viewers read)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from voc.api.deps import SessionDep
from voc.auth.models import User
from voc.auth.users import list_users
from voc.followups import service
from voc.followups.models import FollowupStatus
from voc.followups.rules import REASON_LABELS
from voc.ids import FollowupId
from voc.surveys.service import list_surveys
from voc.web.auth import Analyst, CsrfChecked, Viewer
from voc.web.dashboard.common import page
from voc.web.templating import is_htmx

router = APIRouter()
TEMPLATE = "dashboard/followups.html"
STATUS_LABELS = {"open": "Open", "in_progress": "In progress", "resolved": "Resolved"}


def _shared(session: SessionDep) -> dict:
    return {"status_labels": STATUS_LABELS, "reason_labels": REASON_LABELS,
            "users": list_users(session), "statuses": list(FollowupStatus)}


@router.get("/dashboard/followups", name="dashboard_followups")
def followups_page(request: Request, user: Viewer, session: SessionDep, status: str | None = None,
                   assignee: str | None = None, survey: str | None = None,
                   cursor: str | None = None) -> HTMLResponse:
    """The cases, newest first, filtered by status, assignee and survey; htmx gets the results or the next page."""
    filters = service.parse_filters(status, assignee, survey)
    found = service.list_followups(session, filters, user, cursor=cursor)
    base, params = request.url_for("dashboard_followups").path, filters.to_params()

    def link(**changes: str) -> str:
        """This view's URL (every filter kept) with some parameters changed."""
        query = urlencode({**params, **changes})
        return f"{base}?{query}" if query else base

    context = {"cases": found.items, "total": found.total, "filters": filters, "cursor": cursor, "link": link,
               "next_href": link(cursor=found.next_cursor) if found.next_cursor else None,
               "surveys": list_surveys(session), **_shared(session)}
    return page(request, user, TEMPLATE, context, block="rows" if cursor else "results")


def _case_answer(request: Request, user: User, session: SessionDep, followup_id: int) -> Response:
    # htmx swaps just this case's block; a plain form post goes back to the list.
    if not is_htmx(request):
        return RedirectResponse(str(request.url_for("dashboard_followups")) + f"#case-{followup_id}",
                                status_code=303)
    return page(request, user, TEMPLATE, {"case": service.get_case(session, followup_id), **_shared(session)},
                block="case")


@router.post("/dashboard/followups/{followup_id}/assign", name="followup_assign", dependencies=[CsrfChecked])
def assign(request: Request, followup_id: FollowupId, user: Analyst, session: SessionDep,
           assignee: Annotated[str, Form()] = "") -> Response:
    target = user.id if assignee == "me" else int(assignee) if assignee.isascii() and assignee.isdigit() else None
    service.assign_followup(session, followup_id, target)
    return _case_answer(request, user, session, followup_id)


@router.post("/dashboard/followups/{followup_id}/status", name="followup_status", dependencies=[CsrfChecked])
def change_status(request: Request, followup_id: FollowupId, user: Analyst, session: SessionDep,
                  status: Annotated[str, Form()]) -> Response:
    service.set_followup_status(session, followup_id, status)
    return _case_answer(request, user, session, followup_id)


@router.post("/dashboard/followups/{followup_id}/notes", name="followup_note", dependencies=[CsrfChecked])
def add_note(request: Request, followup_id: FollowupId, user: Analyst, session: SessionDep,
             text: Annotated[str, Form()] = "") -> Response:
    service.add_note(session, followup_id, user, text)
    return _case_answer(request, user, session, followup_id)
