"""Health, readiness and Prometheus metrics for operators and load balancers."""

from __future__ import annotations

import hmac
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from voc import telemetry
from voc.api.errors import error_responses
from voc.config import get_settings
from voc.db import get_engine, reading, utcnow
from voc.errors import Forbidden, Unauthorized
from voc.jobs.stats import due_jobs_by_kind

router = APIRouter(tags=["operations"])


def _engine(request: Request):  # noqa: ANN202
    return getattr(request.app.state, "engine", None) or get_engine()


class ReadyStatus(BaseModel):
    """The database answers with voc's schema."""

    status: str


_URL_ERRORS = error_responses({422: ("invalid_text",)})


@router.get("/healthz", responses=_URL_ERRORS)
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", response_model=ReadyStatus, responses=error_responses({422: ("invalid_text",),
                                                                            503: ("not_ready",)}))
def readyz(request: Request) -> JSONResponse:
    """The database answers and carries voc's schema: safe to send traffic."""
    try:
        with Session(_engine(request)) as session:
            session.execute(text("SELECT 1 FROM alembic_version"))
    except Exception as exc:  # any failure means "not ready", with the reason for the operator
        return JSONResponse({"error": {"code": "not_ready", "message": "the database does not answer or lacks "
                                       "voc's schema", "details": {"reason": type(exc).__name__}}},
                            status_code=503, headers={"Retry-After": "5"})
    return JSONResponse({"status": "ready"})


class MetricsTokenRequired(Unauthorized):
    """No `Authorization: Bearer <VOC_METRICS_TOKEN>`, or another token."""

    code = "invalid_metrics_token"

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="metrics"'}


def metrics_access(request: Request) -> None:
    """/metrics needs the bearer token when VOC_METRICS_TOKEN is set; in production it must be set."""
    settings = get_settings()
    token = settings.metrics_token
    if not token:
        if settings.env == "production":
            raise Forbidden("/metrics is off in production until VOC_METRICS_TOKEN is set", code="metrics_disabled")
        return
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), token.encode()):
        raise MetricsTokenRequired("/metrics needs Authorization: Bearer <VOC_METRICS_TOKEN>")


def _json_errors(responses: dict) -> dict:
    """error_responses for a route whose own answers are not JSON: its errors still are (ErrorBody)."""
    out = {}
    for status, response in responses.items():
        response = {key: value for key, value in response.items() if key != "model"}
        response["content"] = {"application/json": {**response["content"]["application/json"],
                                                    "schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        out[status] = response
    return out


@router.get("/metrics", response_class=PlainTextResponse, include_in_schema=True,
            dependencies=[Depends(metrics_access)],
            responses=_json_errors(error_responses({401: ("invalid_metrics_token",), 403: ("metrics_disabled",),
                                                    422: ("invalid_text",)})))
def prometheus_metrics(request: Request) -> PlainTextResponse:
    """Prometheus text exposition: this process's request latency, answers, webhook attempts, analyser time and
    limits (kept counters), the event loop, and the job queue's due jobs by kind (one indexed query)."""
    text = metrics_exposition(_engine(request), request.app.state.loopwatch.exposition())
    return PlainTextResponse(text, media_type=METRICS_MEDIA_TYPE)


METRICS_MEDIA_TYPE = "text/plain; version=0.0.4"


def metrics_exposition(engine: Engine, extra: list[str] | None = None) -> str:
    """The text of /metrics (also served by `voc worker --metrics-port`): what this process counted since it
    started, then the queue as the database has it now. Its cost does not grow with the data: no table is
    counted, only the due jobs are read."""
    now = utcnow()
    with Session(reading(engine)) as session:
        due = due_jobs_by_kind(session, now)
    lines = [*telemetry.exposition(), *(extra or []),
             *telemetry.gauge_lines("voc_jobs_due", "Queued jobs whose time has come, by kind.", ("kind",),
                                    [((kind,), count) for kind, count, _ in due]),
             *telemetry.gauge_lines("voc_jobs_oldest_due_age_seconds",
                                    "How long the oldest due job of each kind has waited past its time.", ("kind",),
                                    [((kind,), max(0.0, (now - oldest).total_seconds())) for kind, _, oldest in due])]
    return "\n".join(lines) + "\n"


def serve_worker_metrics(engine: Engine, host: str, port: int) -> ThreadingHTTPServer:
    """/metrics of a `voc worker` process (its webhook attempts and analyser time are counted there), on a
    thread of its own; the same bearer-token rule as the app's /metrics. Returns the running server."""

    class MetricsHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            status, body, media_type = 200, b"", METRICS_MEDIA_TYPE
            if self.path.split("?")[0] != "/metrics":
                status = 404
            else:
                settings = get_settings()
                token = settings.metrics_token
                scheme, _, presented = (self.headers.get("authorization") or "").partition(" ")
                if not token and settings.env == "production":
                    status = 403
                elif token and (scheme.lower() != "bearer"
                                or not hmac.compare_digest(presented.strip().encode(), token.encode())):
                    status = 401
                else:
                    body = metrics_exposition(engine).encode()
            self.send_response(status)
            self.send_header("content-type", media_type if status == 200 else "text/plain")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:  # scrapes are not worth a log line each
            return

    server = ThreadingHTTPServer((host, port), MetricsHandler)
    threading.Thread(target=server.serve_forever, name="voc-worker-metrics", daemon=True).start()
    return server
