"""Request latency for /metrics, by method, route template and status class, as plain ASGI middleware.

The route is the template the request matched (`/s/{token}`, `/api/v1/responses/{response_id}`), never
the path itself, so the number of series stays that of the routes. Since FastAPI 0.16x the route set in
scope["route"] carries the path inside its router (`/responses/{response_id}`); the full template is in
FastAPI's scope entry for the matched route, read here when it is there. A request no route matched (a
404, a 429 of the public limits before routing) counts under route="none"."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voc.telemetry import REQUEST_SECONDS
from voc.web.activity import Activity

_CLASSES = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}
# Any method a client makes up would otherwise be a series of its own, without bound.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_template(scope: Scope) -> str:
    """The path template of the route that answered, or "none"."""
    context = (scope.get("fastapi") or {}).get("effective_route_context")
    path = getattr(context, "path", None)
    if isinstance(path, str):
        return path
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else "none"


class RequestMetrics:
    """Times every HTTP request from its arrival to the end of its answer into voc_http_request_duration_seconds,
    and keeps `activity` (the requests in flight, for a worker in the same process) up to date: one layer
    around every answer rather than two."""

    def __init__(self, app: ASGIApp, activity: Activity | None = None) -> None:
        self.app = app
        self.activity = activity or Activity()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        self.activity.started()
        status = 500  # an exception before any answer: the server's error handler answers 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            self.activity.ended()
            method = scope.get("method", "")
            REQUEST_SECONDS.observe(time.perf_counter() - started, method if method in _METHODS else "other",
                                    route_template(scope),
                                    _CLASSES.get(status // 100, "other"))
