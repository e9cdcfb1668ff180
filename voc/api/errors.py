"""Errors on the wire: always `{"error": {"code", "message"}}`, never a stack trace."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from voc.db import busy, is_busy
from voc.errors import VocError

_HTTP_CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
               413: "payload_too_large", 415: "unsupported_media_type"}


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
