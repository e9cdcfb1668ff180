"""Security headers on every answer, as plain ASGI middleware (no per-request task overhead)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP_TEMPLATE = (
    "default-src 'self'; script-src 'self' https://unpkg.com; "
    # Inline style attributes are allowed for chart colours computed on the server; scripts never inline.
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors {ancestors}; base-uri 'none'; form-action 'self'"
)
CSP = CSP_TEMPLATE.format(ancestors="'none'")
BASE_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    # Survey links carry their token in the path: never leak it to another site.
    (b"referrer-policy", b"no-referrer"),
]
HEADERS = [*BASE_HEADERS, (b"x-frame-options", b"DENY")]
_DOCS = ("/docs", "/redoc")  # the interactive API docs load their own scripts; they hold no customer data


def allow_framing(request: Request, origins: list[str]) -> None:
    """Let these origins (and only these) show this answer in a frame: the embed widget's sites."""
    request.state.frame_ancestors = list(origins)


def _page_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    origins = (scope.get("state") or {}).get("frame_ancestors")
    if not origins:
        return [*HEADERS, (b"content-security-policy", CSP.encode())]
    ancestors = " ".join(origins)
    return [*BASE_HEADERS, (b"content-security-policy", CSP_TEMPLATE.format(ancestors=ancestors).encode())]


class SecurityHeaders:
    """Adds the headers above (and the CSP outside the API docs) unless a route set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope["path"].startswith(_DOCS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = HEADERS if docs else _page_headers(scope)
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in extra if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)
