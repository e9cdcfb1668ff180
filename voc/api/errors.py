"""Errors on the wire: always `{"error": {"code", "message"}}`, never a stack trace."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from voc.db import busy, is_busy
from voc.errors import VocError

_HTTP_CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
               413: "payload_too_large", 415: "unsupported_media_type"}


class ErrorInfo(BaseModel):
    """What went wrong: a stable `code` to branch on, a message for people, and details when there are some."""

    code: str = Field(description="stable and machine-readable, e.g. `validation_error`, `touchpoint_not_found`")
    message: str = Field(description="for people; may change between releases")
    details: Any | None = Field(None, description="`validation_error`: a list of `{path, message, type}`, one per "
                                                  "field; absent when there is nothing more to say")


class ErrorBody(BaseModel):
    """Every error the API answers with, whatever its status."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"error": {
        "code": "validation_error", "message": "contact.external_id: Field required",
        "details": [{"path": ["contact", "external_id"], "message": "Field required", "type": "missing"}]}}]})

    error: ErrorInfo


# Which codes each status carries, for the OpenAPI document (see error_responses).
ErrorCodes = Mapping[int, tuple[str, ...]]
# Every route that takes an API key; every route can meet NUL characters in its URL and a busy database.
KEYED_ERRORS: ErrorCodes = {401: ("unauthorized", "invalid_api_key"), 403: ("insufficient_scope",),
                            422: ("validation_error", "invalid_text"), 503: ("busy",)}
# Every route that reads a JSON body.
BODY_ERRORS: ErrorCodes = {400: ("invalid_json",), 413: ("too_large",), 422: ("validation_error", "invalid_text")}
# POST, PATCH and DELETE: a body past the size limit is refused before it is read, whatever the route.
WRITE_ERRORS: ErrorCodes = {413: ("too_large",)}

_STATUS_MEANING = {
    400: "The body is not JSON.",
    401: "No API key, or one that is not valid (`Authorization: Bearer <key>`).",
    403: "The API key lacks the scope this route needs.",
    404: "Nothing by that name or id.",
    409: "The state of things does not allow it.",
    410: "Gone for good.",
    413: "The body is larger than the limit (by default 1 MiB; 64 KiB on public routes).",
    422: "The request is not acceptable: `details` names the fields (`path`).",
    425: "Too early.",
    429: "Too many requests: wait `Retry-After` seconds.",
    503: "The database is busy: try again after `Retry-After` seconds.",
}
# A message per code for the examples (what the server says, or close to it).
_EXAMPLE_MESSAGES = {
    "invalid_json": "the request body is not valid JSON",
    "unauthorized": "an API key is required: Authorization: Bearer <key>",
    "invalid_api_key": "the API key is not valid",
    "insufficient_scope": "this API key lacks the 'surveys:write' scope",
    "too_large": "the request body is larger than 1048576 bytes",
    "validation_error": "contact.external_id: Field required",
    "invalid_text": "event_id: contains a NUL character",
    "busy": "the database is busy; try again in a moment",
    "rate_limited": "too many requests from this address; try again in 30 seconds",
}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before trying again",
                                "schema": {"type": "integer"}}}


def error_responses(*groups: ErrorCodes) -> dict[int | str, dict[str, Any]]:
    """FastAPI `responses=` documenting each status of `groups` (merged) with ErrorBody and its codes.

    A route's own entry for a status replaces its router's, so a route lists all its codes for that status."""
    merged: dict[int, list[str]] = {}
    for group in groups:
        for status, codes in group.items():
            known = merged.setdefault(status, [])
            known.extend(code for code in codes if code not in known)
    responses: dict[int | str, dict[str, Any]] = {}
    for status, codes in sorted(merged.items()):
        listed = ", ".join(f"`{code}`" for code in codes)
        response: dict[str, Any] = {
            "model": ErrorBody, "description": f"{_STATUS_MEANING.get(status, 'Refused.')} Codes: {listed}.",
            "content": {"application/json": {"example": {"error": {
                "code": codes[0], "message": _EXAMPLE_MESSAGES.get(codes[0], codes[0].replace("_", " "))}}}}}
        if status in (429, 503):
            response["headers"] = _RETRY_AFTER
        responses[status] = response
    return responses


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return {"error": body}


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [{"path": [part for part in err.get("loc", ()) if part != "body"], "message": err.get("msg", ""),
             "type": err.get("type", "")} for err in exc.errors()]


async def _on_voc_error(request: Request, exc: VocError) -> JSONResponse:
    return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=exc.headers)


async def _on_database_error(request: Request, exc: Exception) -> Response:
    """A pool with no free connection, or SQLite's lock held past the wait: 503 busy, never a 500."""
    if not is_busy(exc):
        raise exc
    return await request.app.exception_handlers[VocError](request, busy(exc))


async def _on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    details = _field_errors(exc)
    if any(d["type"] == "json_invalid" for d in details):
        return JSONResponse(error_body("invalid_json", "the request body is not valid JSON", details), 400)
    first = details[0] if details else {"path": [], "message": "invalid request"}
    where = ".".join(str(p) for p in first["path"])
    message = f"{where}: {first['message']}" if where else first["message"]
    return JSONResponse(error_body("validation_error", message, details), 422)


async def _on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return JSONResponse(error_body(code, str(exc.detail)), exc.status_code, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    """Render expected failures as JSON errors with stable codes."""
    app.add_exception_handler(VocError, _on_voc_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _on_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _on_http_error)  # type: ignore[arg-type]
    app.add_exception_handler(OperationalError, _on_database_error)
    app.add_exception_handler(PoolTimeout, _on_database_error)
