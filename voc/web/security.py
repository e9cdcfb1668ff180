"""Security headers on every answer, and per-address limits on the public routes, as plain ASGI middleware
(no per-request task overhead).

Headers: nosniff, no referrer, no framing (but for embed sites, see allow_framing), a CSP whose
script-src names voc and the one htmx file it may load from the CDN (none with VOC_HTMX_SOURCE=local),
HSTS when VOC_BASE_URL is https, and `Cache-Control: no-store` on dashboard pages (the CSV export
included) and on API answers carrying customer data.

Limits: the routes anyone may call without a key or a session (the survey page, answers, sign-in,
unsubscribe) take one token per request from a bucket per (route group, client address); an empty bucket
is answered 429 `rate_limited` with Retry-After before the app sees the request. The client address is
the connection's peer, or what a trusted proxy says (uvicorn's --forwarded-allow-ips /
FORWARDED_ALLOW_IPS; `voc serve` turns proxy headers on). The buckets are shared by every process on
PostgreSQL or Redis (voc.limits), checked without blocking the event loop."""

from __future__ import annotations

import html
import ipaddress
import json

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voc.config import get_settings
from voc.db import get_engine
from voc.limits import Limiter, limits_for, retry_after
from voc.telemetry import RATE_LIMITED
from voc.web.templating import HTMX_CDN

CSP_TEMPLATE = (
    "default-src 'self'; script-src {scripts}; "
    # Inline style attributes are allowed for chart colours computed on the server; scripts never inline.
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors {ancestors}; base-uri 'none'; form-action 'self'"
)
BASE_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    # Survey links carry their token in the path: never leak it to another site.
    (b"referrer-policy", b"no-referrer"),
]
HEADERS = [*BASE_HEADERS, (b"x-frame-options", b"DENY")]
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
NO_STORE = (b"cache-control", b"no-store")
_DOCS = ("/docs", "/redoc")  # the interactive API docs load their own scripts; they hold no customer data
# Pages and answers that hold customers' data or a signed-in user's: never kept by a browser or a proxy.
_NO_STORE_PREFIXES = ("/dashboard", "/login", "/logout", "/api/v1/responses", "/api/v1/contacts")


def script_sources() -> str:
    """The CSP script-src: voc itself and, unless htmx is served by voc only, that one CDN file."""
    return "'self'" if get_settings().htmx_source == "local" else f"'self' {HTMX_CDN}"


def content_security_policy(ancestors: str = "'none'") -> str:
    """The CSP of a page that these frame ancestors may show."""
    return CSP_TEMPLATE.format(scripts=script_sources(), ancestors=ancestors)


def allow_framing(request: Request, origins: list[str]) -> None:
    """Let these origins (and only these) show this answer in a frame: the embed widget's sites."""
    request.state.frame_ancestors = list(origins)


class SecurityHeaders:
    """Adds the headers above (and the CSP outside the API docs) unless a route set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        settings = get_settings()
        self.scripts = script_sources()
        hsts = [HSTS] if settings.base_url.lower().startswith("https://") else []
        self.docs_headers = [*HEADERS, *hsts]
        self.page_headers = [*HEADERS, *hsts, (b"content-security-policy", content_security_policy().encode())]
        self.framed_headers = [*BASE_HEADERS, *hsts]

    def _headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        path = scope["path"]
        if path.startswith(_DOCS):
            headers = self.docs_headers
        elif origins := (scope.get("state") or {}).get("frame_ancestors"):
            csp = CSP_TEMPLATE.format(scripts=self.scripts, ancestors=" ".join(origins))
            headers = [*self.framed_headers, (b"content-security-policy", csp.encode())]
        else:
            headers = self.page_headers
        return [*headers, NO_STORE] if path.startswith(_NO_STORE_PREFIXES) else headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = self._headers(scope)
                message["headers"] = [*message.get("headers", []), *(h for h in extra if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def client_address(scope: Scope) -> str:
    """Who is asking, for limits: the peer address (a trusted proxy's X-Forwarded-For when uvicorn was told
    to trust it); an IPv6 address counts by its /64, which one subscriber usually holds whole."""
    client = scope.get("client")
    host = client[0] if client else "unknown"
    if ":" not in host:
        return host
    try:
        address = ipaddress.IPv6Address(host)
    except ValueError:
        return host
    if address.ipv4_mapped:  # an IPv4 client of a dual-stack socket: one address, not one /64 for all of them
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network(f"{address}/64", strict=False))


def public_route_group(method: str, path: str) -> str | None:
    """The limited group a request belongs to, or None for routes that need a key or a session."""
    if path.startswith("/s/"):
        return "survey"
    if path == "/api/v1/responses" and method == "POST":
        return "responses"
    if path == "/login":
        return "login"
    if path.startswith("/unsubscribe/"):
        return "unsubscribe"
    return None


_PAGE_429 = ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
             '<meta name="viewport" content="width=device-width, initial-scale=1">'
             '<title>Too many requests</title><link rel="stylesheet" href="/static/css/voc.css"></head>'
             '<body class="survey"><main class="survey-card"><h1>Too many requests</h1>'
             '<p role="alert">Too many requests came from your network. Please wait {seconds} s, '
             'then try again.</p></main></body></html>')


class PublicRateLimit:
    """Token buckets per (public route group, client address): VOC_PUBLIC_REQUESTS_PER_MINUTE in bursts of
    VOC_PUBLIC_BURST; past them 429 `rate_limited` (JSON for the API, a short page for the HTML routes)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.buckets: Limiter | None = None  # made on the first request, on the app's database

    def _buckets(self, scope: Scope) -> Limiter:
        if self.buckets is None:
            settings = get_settings()
            state = getattr(scope.get("app"), "state", None)
            engine = getattr(state, "engine", None) or get_engine()
            self.buckets = limits_for(engine).buckets("public", settings.public_requests_per_minute,
                                                      settings.public_burst)
        return self.buckets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        group = public_route_group(scope.get("method", ""), scope["path"]) if scope["type"] == "http" else None
        if group is None:
            await self.app(scope, receive, send)
            return
        wait = await self._buckets(scope).take_async(f"{group} {client_address(scope)}")
        if not wait:
            await self.app(scope, receive, send)
            return
        RATE_LIMITED.inc(group)
        seconds = retry_after(wait)
        if group == "responses":
            body = json.dumps({"error": {"code": "rate_limited", "message": f"too many requests from this "
                                         f"address; try again in {seconds} s"}}).encode()
            media_type = b"application/json"
        else:
            body = _PAGE_429.format(seconds=html.escape(seconds)).encode()
            media_type = b"text/html; charset=utf-8"
        await send({"type": "http.response.start", "status": 429,
                    "headers": [(b"content-type", media_type), (b"content-length", str(len(body)).encode()),
                                (b"retry-after", seconds.encode()), NO_STORE]})
        await send({"type": "http.response.body", "body": body})
