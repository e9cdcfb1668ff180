"""Dashboard: the follow-up queue (analysts assign, resolve and annotate cases, one or many; viewers read)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from voc.api.deps import SessionDep
from voc.auth.models import Role, User
from voc.auth.users import list_users
from voc.config import get_settings
from voc.errors import Invalid
from voc.followups import queue, service
from voc.followups.models import FollowupStatus
from voc.followups.rules import REASON_LABELS
from voc.ids import FollowupId
from voc.surveys.service import list_surveys, list_touchpoints
from voc.web.auth import Analyst, CsrfChecked, Viewer
from voc.web.dashboard.common import page
from voc.web.templating import is_htmx

router = APIRouter()
TEMPLATE = "dashboard/followups.html"
STATUS_LABELS = {"open": "Open", "in_progress": "In progress", "resolved": "Resolved"}
VIEW_LABELS = {"unresolved": "Unresolved", **STATUS_LABELS, "all": "All"}
SORT_LABELS = {"priority": "Priority", "due": "Due time (SLA)", "newest": "Newest"}
BULK_ACTIONS = ("assign", "resolve")
_QUEUE_PATH = re.compile(r"/dashboard/followups(/[0-9]{1,10})?")


CASE_ROUTES = ("dashboard_followup", "followup_assign", "followup_resolve", "followup_status", "followup_note")


def _case_urls(request: Request) -> Callable[[str, int], str]:
    """`case_url(route, id)`: each case route's path, resolved once per page (a template's url_for walks every
    route each time: fifty cases' forms made it most of the page's time)."""
    marker = "2147483647"
    paths = {name: request.url_for(name, followup_id=marker).path for name in CASE_ROUTES}

    def case_url(name: str, followup_id: int) -> str:
        return paths[name].replace(marker, str(int(followup_id)))

    return case_url


def _shared(request: Request, session: SessionDep) -> dict:
    users = list_users(session)
    workers = [u for u in users if u.disabled_at is None and Role(u.role).rank >= Role.analyst.rank]
    return {"case_url": _case_urls(request), "status_labels": STATUS_LABELS, "reason_labels": REASON_LABELS,
            "users": users, "assignees": workers, "statuses": list(FollowupStatus),
            "value_attribute": get_settings().followup_value_attribute}


@router.get("/dashboard/followups", name="dashboard_followups")
def followups_page(request: Request, user: Viewer, session: SessionDep, status: str | None = None,
                   assignee: str | None = None, touchpoint: str | None = None, survey: str | None = None,
                   overdue: str | None = None, sort: str | None = None, cursor: str | None = None,
                   notice: str | None = None) -> HTMLResponse:
    """The queue, 50 a page, sorted and filtered as the query asks; htmx gets the results alone."""
    filters = queue.parse_filters(status, assignee, touchpoint, survey, overdue, sort)
    found = queue.list_queue(session, filters, user, cursor=cursor)
    base = request.url_for("dashboard_followups").path

    def link(cursor: str | None = None, **changes: str | bool | None) -> str:
        """This view's URL (every filter kept) with some filters changed, on page one or at `cursor`."""
        query = urlencode({**filters.to_params(**changes), **({"cursor": cursor} if cursor else {})})
        return f"{base}?{query}" if query else base

    context = {"found": found, "cases": found.items, "total": found.total, "counts": found.counts,
               "filters": filters, "cursor": cursor, "link": link, "here": link(cursor),
               "next_href": link(found.next_cursor) if found.next_cursor else None,
               "notice": _notice(notice), "view_labels": VIEW_LABELS, "sort_labels": SORT_LABELS,
               "surveys": list_surveys(session), "touchpoints": list_touchpoints(session), **_shared(request, session)}
    return page(request, user, TEMPLATE, context, block="results")


@router.get("/dashboard/followups/{followup_id}", name="dashboard_followup")
def followup_page(request: Request, followup_id: FollowupId, user: Viewer, session: SessionDep) -> HTMLResponse:
    """One case on a page of its own (the assignee's e-mail links here)."""
    return page(request, user, TEMPLATE, {"single": True, "cases": [queue.get_case(session, followup_id)],
                                          "here": request.url.path, **_shared(request, session)})


def _notice(text: str | None) -> str | None:
    # What the last bulk action did ("assigned_12", "resolved_3"), said after its redirect.
    verb, _, count = (text or "").partition("_")
    if verb not in ("assigned", "resolved") or not (count.isascii() and count.isdigit()) or len(count) > 4:
        return None
    return f"{count} case{'' if count == '1' else 's'} {verb}."


def _back_to(request: Request, back: str, *, first_page: bool = False, **params: str) -> RedirectResponse:
    """After a plain form post: back to the queue view it came from (only a queue address), with a notice;
    on its first page when the change took cases out of the view (the page they were on has moved)."""
    target = urlsplit(back)
    known = not target.scheme and not target.netloc and _QUEUE_PATH.fullmatch(target.path)
    path = target.path if known else request.url_for("dashboard_followups").path
    dropped = {"notice", "cursor"} if first_page else {"notice"}
    kept = [(k, v) for k, v in parse_qsl(target.query) if k not in dropped] if known else []
    query = urlencode(kept + list(params.items()))
    return RedirectResponse(f"{path}?{query}" if query else path, status_code=303)


def _case_answer(request: Request, user: User, session: SessionDep, followup_id: int, back: str = "") -> Response:
    # htmx swaps just this case's block; a plain form post goes back to the view it came from.
    if not is_htmx(request):
        answer = _back_to(request, back)
        answer.headers["location"] += f"#case-{followup_id}"
        return answer
    return page(request, user, TEMPLATE, {"case": queue.get_case(session, followup_id), **_shared(request, session)},
                block="case")


@router.post("/dashboard/followups/bulk", name="followups_bulk", dependencies=[CsrfChecked])
def bulk(request: Request, user: Analyst, session: SessionDep, action: Annotated[str, Form()] = "",
         ids: Annotated[list[str] | None, Form()] = None, assignee: Annotated[str, Form()] = "",
         note: Annotated[str, Form()] = "", back: Annotated[str, Form()] = "") -> Response:
    """Assign or resolve the selected cases at once, then back to the queue saying how many changed."""
    if action not in BULK_ACTIONS:
        raise Invalid("choose to assign or to resolve the selected cases", code="invalid_action")
    case_ids = service.parse_case_ids(ids or [])
    if action == "assign":
        changed = service.assign_followups(session, case_ids, service.parse_assignee(assignee, user), user)
        return _back_to(request, back, notice=f"assigned_{changed}")
    changed = service.resolve_followups(session, case_ids, user, note)
    return _back_to(request, back, first_page=True, notice=f"resolved_{changed}")


@router.post("/dashboard/followups/{followup_id}/assign", name="followup_assign", dependencies=[CsrfChecked])
def assign(request: Request, followup_id: FollowupId, user: Analyst, session: SessionDep,
           assignee: Annotated[str, Form()] = "", back: Annotated[str, Form()] = "") -> Response:
    service.assign_followup(session, followup_id, service.parse_assignee(assignee, user), user)
    return _case_answer(request, user, session, followup_id, back)


@router.post("/dashboard/followups/{followup_id}/resolve", name="followup_resolve", dependencies=[CsrfChecked])
def resolve(request: Request, followup_id: FollowupId, user: Analyst, session: SessionDep,
            note: Annotated[str, Form()] = "", back: Annotated[str, Form()] = "") -> Response:
    """Resolve in one click from any open state, with an optional note."""
    service.resolve_followup(session, followup_id, user, note)
    return _case_answer(request, user, session, followup_id, back)


@router.post("/dashboard/followups/{followup_id}/status", name="followup_status", dependencies=[CsrfChecked])
def change_status(request: Request, followup_id: FollowupId, user: Analyst, session: SessionDep,
                  status: Annotated[str, Form()], back: Annotated[str, Form()] = "") -> Response:
    service.set_followup_status(session, followup_id, status)
    return _case_answer(request, user, session, followup_id, back)


@router.post("/dashboard/followups/{followup_id}/notes", name="followup_note", dependencies=[CsrfChecked])
def add_note(request: Request, followup_id: FollowupId, user: Analyst, session: SessionDep,
             text: Annotated[str, Form()] = "", back: Annotated[str, Form()] = "") -> Response:
    service.add_note(session, followup_id, user, text)
    return _case_answer(request, user, session, followup_id, back)
