"""Jinja templates (autoescaped: customers' text is untrusted) and htmx block rendering."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from voc.config import get_settings
from voc.templates import html_environment

HTMX_VERSION = "2.0.11"
# Subresource integrity of the CDN copy; static/vendor/htmx.min.js is the same file from npm.
HTMX_INTEGRITY = "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"
HTMX_CDN = f"https://unpkg.com/htmx.org@{HTMX_VERSION}/dist/htmx.min.js"

# The shared, autoescaped environment (voc/templates.py): the e-mails render from the same one.
templates = Jinja2Templates(env=html_environment)
# How long a page waits for the CDN's htmx before it loads the vendored copy (static/js/voc.js).
HTMX_CDN_TIMEOUT_MS = 3000


def htmx_from_cdn() -> bool:
    """Whether pages load htmx from the CDN (VOC_HTMX_SOURCE=cdn, the default) rather than from voc only."""
    return get_settings().htmx_source == "cdn"


templates.env.globals.update(htmx_cdn=HTMX_CDN, htmx_integrity=HTMX_INTEGRITY, htmx_from_cdn=htmx_from_cdn,
                             htmx_cdn_timeout_ms=HTMX_CDN_TIMEOUT_MS)


def is_htmx(request: Request) -> bool:
    """Whether htmx sent the request (it then wants a fragment, not a page)."""
    return request.headers.get("hx-request") == "true"


def render(request: Request, name: str, context: dict[str, Any], *, status_code: int = 200,
           block: str | None = None) -> HTMLResponse:
    """A whole page, or just one named block of it for an htmx request."""
    if block is None:
        return templates.TemplateResponse(request, name, context, status_code=status_code)
    template = templates.get_template(name)
    ctx = template.new_context({"request": request, **context})
    html = "".join(template.blocks[block](ctx))
    return HTMLResponse(html, status_code=status_code)
