"""Hostile input refused before any handler runs: NUL characters and lone surrogates in the URL or the body
(422 `invalid_text`, naming the field), and bodies past their size limit (413 `too_large`).

Plain ASGI middleware: a body is read once here (counted against its limit), scanned as bytes, and handed
on unchanged; it is parsed here only when the scan finds something, to name the field. PostgreSQL cannot
store a NUL and no database can encode a lone surrogate, so without this they surfaced as 500s."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Awaitable, Callable, Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voc.config import get_settings

PUBLIC_BODY_LIMIT = 64 * 1024
API_BODY_LIMIT = 1024 * 1024
# Routes anyone may post to without a key or a session get the small limit.
_PUBLIC_PREFIXES = ("/s/", "/login", "/unsubscribe/", "/embed/")
_PUBLIC_PATHS = frozenset({"/api/v1/responses"})
_HTML_PREFIXES = ("/s/", "/dashboard", "/login", "/logout", "/unsubscribe/")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# In JSON text: a raw NUL, the escape \u0000, or the escape of half a surrogate pair without its other half
# (a pair is one character, such as an emoji from a client that escapes everything beyond ASCII).
_JSON_SUSPECT = re.compile(rb"\x00|\\u0000"
                           rb"|\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"
                           rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _flaw(text: str) -> str | None:
    """What makes `text` unstorable, or None."""
    if "\x00" in text:
        return "contains a NUL character"
    if _SURROGATE.search(text):
        return "contains a lone surrogate (half of a UTF-16 pair)"
    return None


def _printable(name: str) -> str:
    """A field name fit to echo back in an error (it may itself hold the bad character)."""
    return name.replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode("utf-8")


def _json_flaw(value: Any) -> tuple[list[str | int], str] | None:
    """The first string or key of parsed JSON that cannot be stored (a loop: nesting may be deep)."""
    stack: list[tuple[Any, list[str | int]]] = [(value, [])]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if flaw := _flaw(item):
                return path, flaw
        elif isinstance(item, dict):
            for key in item:
                if flaw := _flaw(key):
                    return [*path, _printable(key)], f"its name {flaw}"
            stack.extend((child, [*path, key]) for key, child in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((child, [*path, index]) for index, child in reversed(list(enumerate(item))))
    return None


def _pairs_flaw(pairs: list[tuple[str, str]], prefix: list[str | int]) -> tuple[list[str | int], str] | None:
    for name, value in pairs:
        if flaw := _flaw(name):
            return [*prefix, _printable(name)], f"its name {flaw}"
        if flaw := _flaw(value):
            return [*prefix, _printable(name)], flaw
    return None


def _url_flaw(scope: Scope) -> tuple[list[str | int], str] | None:
    """A NUL in the path or the query string (percent-decoding never yields a surrogate: it replaces)."""
    if "\x00" in scope["path"]:
        return ["path", *_path_param_with_nul(scope)], "contains a NUL character"
    query: bytes = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        return _pairs_flaw(parse_qsl(query.decode("latin-1"), keep_blank_values=True), ["query"])
    return None


@lru_cache(maxsize=4)
def _path_patterns(app: Any) -> list[re.Pattern[str]]:
    """Every route's full path template as a pattern whose groups are its parameters (built on first use)."""
    try:
        from fastapi.routing import iter_route_contexts  # included routers keep their routes to themselves

        routes: Iterable[Any] = iter_route_contexts(app.routes)
    except ImportError:  # older FastAPI: the app's routes carry their full paths
        routes = getattr(app, "routes", [])
    return [compile_path(path)[0] for route in routes if isinstance(path := getattr(route, "path", None), str)]


def _path_param_with_nul(scope: Scope) -> list[str]:
    """The name of the path parameter holding the NUL, [] when no route's template matches."""
    for pattern in _path_patterns(scope.get("app")):
        if match := pattern.match(scope["path"]):
            return [name for name, value in match.groupdict().items() if "\x00" in value][:1]
    return []


async def _body_flaw(scope: Scope, media_type: str, body: bytes) -> tuple[list[str | int], str] | None:
    """A field of the body holding an unstorable character; parsed only when the byte scan hits."""
    if media_type == "application/x-www-form-urlencoded":
        if b"%00" not in body and b"\x00" not in body:
            return None
        return _pairs_flaw(parse_qsl(body.decode("latin-1"), keep_blank_values=True), [])
    if media_type == "multipart/form-data":
        return await _multipart_flaw(scope, body) if b"\x00" in body else None
    # Everything else is read as JSON, whatever its Content-Type (the embed widget sends text/plain).
    if not _JSON_SUSPECT.search(body):
        return None
    try:
        parsed = json.loads(body, strict=False)  # strict=False: a raw NUL inside a string still parses
    except (ValueError, RecursionError):
        return ([], "contains a NUL character") if b"\x00" in body else None  # else: invalid_json, later
    return _json_flaw(parsed)


async def _multipart_flaw(scope: Scope, body: bytes) -> tuple[list[str | int], str] | None:
    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        async with Request(scope, replay).form() as form:
            return _pairs_flaw([(name, value) for name, value in form.multi_items() if isinstance(value, str)],
                               []) or ([], "contains a NUL character")  # the NUL is in a file part
    except Exception:  # an unparseable body holding a NUL is refused as a whole
        return [], "contains a NUL character"


def _is_html(path: str) -> bool:
    return path.startswith(_HTML_PREFIXES)


def _refusal(scope: Scope, status: int, code: str, message: str, details: Any = None) -> Response:
    """The project's JSON error, or for pages a short HTML page saying the same."""
    if _is_html(scope["path"]):
        heading = "Too much to send" if status == 413 else "This request cannot be read"
        page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{heading}</title></head>'
                f"<body><main><h1>{heading}</h1><p>{html.escape(message)}</p></main></body></html>")
        return HTMLResponse(page, status_code=status)
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return JSONResponse({"error": error}, status_code=status)


def _invalid_text(scope: Scope, path: list[str | int], flaw: str) -> Response:
    where = ".".join(str(p) for p in path) or "body"
    return _refusal(scope, 422, "invalid_text", f"{where}: {flaw}",
                    [{"path": path, "message": flaw, "type": "invalid_text"}])


def _too_large(scope: Scope, limit: int) -> Response:
    return _refusal(scope, 413, "too_large", f"the request body is larger than {limit} bytes")


def _headers(scope: Scope) -> tuple[int | None, str]:
    """Content-Length (None when absent or unreadable) and the media type, from the raw headers."""
    length, media_type = None, ""
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = int(value) if value.isdigit() else None
        elif name == b"content-type":
            media_type = value.decode("latin-1").partition(";")[0].strip().lower()
    return length, media_type


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes `limit` (a chunked body has no length to check first)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise _Disconnected
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        if not message.get("more_body", False):
            return b"".join([*chunks, chunk]) if chunks else chunk  # the usual single message: no copy
        chunks.append(chunk)


class _Disconnected(Exception):
    """The client went away before its body was read: there is no one to answer."""


def _replay(body: bytes, receive: Receive) -> Callable[[], Awaitable[Message]]:
    """A receive that hands on the body already read, then listens for the disconnect as before."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


class InputGuard:
    """Refuses unstorable text in URLs and bodies (422) and oversized bodies (413) before the app sees them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        settings = get_settings()
        self.public_limit = int(getattr(settings, "public_body_limit_bytes", PUBLIC_BODY_LIMIT))
        self.api_limit = int(getattr(settings, "api_body_limit_bytes", API_BODY_LIMIT))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if found := _url_flaw(scope):
            await _invalid_text(scope, *found)(scope, receive, send)
            return
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        limit = self.public_limit if path in _PUBLIC_PATHS or path.startswith(_PUBLIC_PREFIXES) else self.api_limit
        length, media_type = _headers(scope)
        if length is not None and length > limit:
            await _too_large(scope, limit)(scope, receive, send)
            return
        try:
            body = await _read_body(receive, limit)
        except _Disconnected:
            return
        if body is None:
            await _too_large(scope, limit)(scope, receive, send)
            return
        if found := await _body_flaw(scope, media_type, body):
            await _invalid_text(scope, *found)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)
