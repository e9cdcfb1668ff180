"""Errors on dashboard addresses as a page a person can read (and leave), never the API's JSON.

An htmx request gets the message alone as text, for the page that asked to show where it asked."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from voc.web.templating import is_htmx, render

HEADINGS = {403: "Not allowed", 404: "Page not found", 405: "Not here"}
_HTTP_MESSAGES = {404: "There is no dashboard page at this address. It may have moved, or the link is mistyped.",
                  405: "This address does not take that kind of request."}


def error_page(request: Request, status_code: int, message: str,
               headers: Mapping[str, str] | None = None) -> Response:
    """The dashboard's error page (or, for htmx, the message as text) at `status_code`."""
    if is_htmx(request):
        return Response(message, status_code=status_code, media_type="text/plain", headers=headers)
    response = render(request, "dashboard/error.html",
                      {"heading": HEADINGS.get(status_code, "Something is not right"), "message": message},
                      status_code=status_code)
    response.headers.update(headers or {})
    return response


def http_error_page(request: Request, exc: StarletteHTTPException) -> Response:
    """The page for a routing error (no such address, a method the address does not take)."""
    return error_page(request, exc.status_code, _HTTP_MESSAGES.get(exc.status_code, str(exc.detail)), exc.headers)
