"""The widget's public routes: the loader script and the decision it asks for, answered over CORS
only to the site's allowed origins."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from voc.api.deps import SessionDep
from voc.api.errors import error_responses
from voc.config import get_settings
from voc.embed import sites
from voc.embed.decision import decide_for_widget
from voc.embed.models import Site
from voc.embed.schemas import DecisionIn, DecisionOut
from voc.limits import limits_for, retry_after
from voc.resources import resource_dir
from voc.telemetry import RATE_LIMITED

router = APIRouter(tags=["embed"])
LOADER_PATH = ("js", "embed.js")
MAX_DECISION_BODY = 4096
# Customers paste the URL into their pages, so it cannot carry a version: cache briefly, revalidate by ETag.
LOADER_CACHE = "public, max-age=3600, stale-while-revalidate=86400"


@lru_cache(maxsize=1)
def loader_script() -> tuple[bytes, str]:
    """The loader's bytes and their ETag (read once per process)."""
    body = resource_dir("static").joinpath(*LOADER_PATH).read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@router.get("/embed.js", name="embed_loader", include_in_schema=False)
def embed_loader(request: Request) -> Response:
    """The widget loader, for any page to include with a <script> tag."""
    body, etag = loader_script()
    headers = {"Cache-Control": LOADER_CACHE, "ETag": etag, "Access-Control-Allow-Origin": "*",
               "Cross-Origin-Resource-Policy": "cross-origin"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)


def _cors(origin: str) -> dict[str, str]:
    # No credentials: the widget never sends or needs cookies; identity is the signature.
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin", "Cache-Control": "no-store"}


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status,
                        headers=headers or {"Vary": "Origin", "Cache-Control": "no-store"})


def _allowed_site(session: Session, site_key: str, request: Request) -> tuple[Site | None, JSONResponse | None]:
    site = sites.find_site(session, site_key)
    if site is None:
        return None, _error(404, "site_not_found", f"no site {site_key!r}")
    origin = request.headers.get("origin")
    if origin not in site.allowed_origins:
        return None, _error(403, "origin_not_allowed", "this origin may not embed this site's surveys; "
                                                       "add it to the site's allowed_origins")
    return site, None


async def _raw_body(request: Request) -> bytes:
    return await request.body()


def _throttle(site_key: str, request: Request) -> float:
    """Seconds to wait if this visitor, or this site as a whole, asked too often (checked before the
    database is touched); 0 to go on. The buckets belong to the app, shared by every process on PostgreSQL
    or Redis (voc.limits); this runs on a thread, so a round trip to them holds no event loop."""
    state = request.app.state
    buckets = getattr(state, "embed_buckets", None)
    if buckets is None:
        settings = get_settings()
        limits = limits_for(state.engine)
        # Bursts of half a minute's worth per visitor address, a minute's worth per site.
        per_visitor = settings.embed_decisions_per_minute
        buckets = state.embed_buckets = (
            limits.buckets("embed-visitor", per_visitor, burst=max(1.0, per_visitor / 2)),
            limits.buckets("embed-site", settings.embed_site_decisions_per_minute,
                           burst=settings.embed_site_decisions_per_minute))
    visitors, site_wide = buckets
    address = request.client.host if request.client else "unknown"
    wait = visitors.take(f"{site_key}|{address}") or site_wide.take(site_key)
    if wait:
        RATE_LIMITED.inc("embed")
    return wait


_DECISION_BODY = DecisionIn.model_json_schema(ref_template="#/components/schemas/{model}")
_DECISION_BODY.pop("$defs", None)


@router.post("/embed/sites/{site_key}/decision", name="embed_decision", response_model=DecisionOut,
             responses=error_responses({403: ("origin_not_allowed",), 404: ("site_not_found",),
                                        413: ("body_too_large", "too_large"), 422: ("validation_error", "invalid_text"),
                                        429: ("rate_limited",), 503: ("busy",)}),
             openapi_extra={"requestBody": {"required": False, "description": "JSON, sent as text/plain by the loader",
                                            "content": {"application/json": {
                                                "schema": _DECISION_BODY,
                                                "example": {"survey": "post_visit", "contact": "CUS-00042",
                                                            "signature": "hex HMAC-SHA256 of the contact id"}}}}})
def embed_decision(site_key: str, request: Request, session: SessionDep,
                   body: Annotated[bytes, Depends(_raw_body)]) -> Response:
    """Whether the widget shows `survey` to this visitor now; with the survey's address if so.

    The body is JSON whatever its Content-Type: the loader sends text/plain, a CORS-simple request
    with no preflight. Only the site's allowed origins get an answer they can read, and any other
    origin is refused before anything is decided or stored."""
    wait = _throttle(site_key, request)
    if wait:
        return _error(429, "rate_limited", "too many decisions asked for; try again later",
                      {"Retry-After": retry_after(wait)})
    site, refusal = _allowed_site(session, site_key, request)
    if refusal is not None or site is None:
        return refusal or _error(404, "site_not_found", "no such site")
    cors = _cors(request.headers["origin"])
    if len(body) > MAX_DECISION_BODY:
        return _error(413, "body_too_large", f"the request body exceeds {MAX_DECISION_BODY} bytes", cors)
    try:
        question = DecisionIn.model_validate_json(body or b"{}")
    except ValidationError as exc:
        return _error(422, "validation_error", "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                                          for e in exc.errors()), cors)
    answer = decide_for_widget(session, site, question)
    return JSONResponse(answer.model_dump(mode="json"), headers=cors)


@router.options("/embed/sites/{site_key}/decision", include_in_schema=False)
def embed_decision_preflight(site_key: str, request: Request, session: SessionDep) -> Response:
    """CORS preflight, for callers that send JSON as application/json: allowed origins only."""
    site, refusal = _allowed_site(session, site_key, request)
    if refusal is not None or site is None:
        return Response(status_code=403, headers={"Vary": "Origin"})
    return Response(status_code=204, headers={**_cors(request.headers["origin"]),
                                              "Access-Control-Allow-Methods": "POST",
                                              "Access-Control-Allow-Headers": "Content-Type",
                                              "Access-Control-Max-Age": "600"})
