"""How busy the web server is, so that a worker in the same process gives way to customers' requests."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Receive, Scope, Send

QUIET_SECONDS = 0.005  # no request for this long: the server is idle (a keep-alive client's next
#                        request usually follows within a millisecond or two)


class Activity:
    """HTTP requests in flight and when the last one ended (written by the event loop, read by the worker)."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.last_end = 0.0

    def busy(self) -> bool:
        """Whether a request is being served or one ended a moment ago."""
        return self.in_flight > 0 or time.monotonic() - self.last_end < QUIET_SECONDS


class TrackActivity:
    """Plain ASGI middleware keeping an Activity up to date."""

    def __init__(self, app: ASGIApp, activity: Activity) -> None:
        self.app = app
        self.activity = activity

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        activity = self.activity
        activity.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            activity.in_flight -= 1
            activity.last_end = time.monotonic()
