"""Dashboard: the response explorer (filters in the URL, htmx paging) and its CSV export."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from voc.api.deps import SessionDep
from voc.db import utcnow
from voc.explore import service
from voc.explore.export import csv_chunks
from voc.explore.highlight import response_views
from voc.periods import local_time
from voc.sentiment.model import DIMENSIONS
from voc.web.auth import Viewer
from voc.web.dashboard.common import page
from voc.web.dashboard.contacts import contact_href

router = APIRouter()


@router.get("/dashboard/responses", name="dashboard_responses")
def responses_page(request: Request, user: Viewer, session: SessionDep, cursor: str | None = None) -> HTMLResponse:
    """The filtered responses, newest (or most negative) first; htmx gets the results block, or the next page's rows."""
    filters = service.ResponseFilters.from_params(request.query_params)
    now = utcnow()
    found = service.list_responses(session, filters, cursor=cursor, now=now)
    bounds = service.bounds_of(filters, now)
    params = filters.to_params()
    base = str(request.url_for("dashboard_responses").path)

    def link(**changes: str) -> str:
        """This view's URL with some filters changed (a link keeps every other filter; an empty one is dropped)."""
        query = urlencode({k: v for k, v in {**params, **changes}.items() if v})
        return f"{base}?{query}" if query else base

    context = {"title": "Responses", "filters": filters, "params": params, "page": found, "link": link,
               "next_href": link(cursor=found.next_cursor) if found.next_cursor else None,
               "csv_href": f"{request.url_for('dashboard_responses_csv').path}?{urlencode(params)}",
               "views": response_views(session, found.items, filters.dimension, filters.theme), "cursor": cursor,
               "period": bounds.key, "bounds": bounds, "local_time": local_time, "dimensions": DIMENSIONS,
               "answer_label": service.answer_label(session, filters), "sentiments": service.SENTIMENTS,
               "contact_href": contact_href, **service.filter_choices(session)}
    return page(request, user, "dashboard/responses.html", context, block="rows" if cursor else "results")


@router.get("/dashboard/responses.csv", name="dashboard_responses_csv")
def responses_csv(request: Request, user: Viewer) -> StreamingResponse:
    """Exactly the filtered responses as CSV, streamed batch by batch."""
    filters = service.ResponseFilters.from_params(request.query_params)
    now = utcnow()
    filename = f"voc-responses-{now.date().isoformat()}.csv"
    return StreamingResponse(csv_chunks(request.app.state.engine, filters, now=now),
                             media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})
