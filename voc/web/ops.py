"""Health, readiness and Prometheus metrics for operators and load balancers."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel
from sqlalchemy import func, select, text
from sqlmodel import Session

from voc.api.errors import error_responses
from voc.config import get_settings
from voc.db import get_engine
from voc.errors import Forbidden, Unauthorized
from voc.jobs.models import Job
from voc.surveys.models import Invitation, Response

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
    """Prometheus text exposition: jobs by kind and status, invitations and responses."""
    lines = ["# HELP voc_jobs Jobs in the queue by kind and status.", "# TYPE voc_jobs gauge"]
    with Session(_engine(request)) as session:
        for kind, status, count in session.execute(
                select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)):
            lines.append(f'voc_jobs{{kind="{kind}",status="{status}"}} {count}')
        lines += ["# HELP voc_invitations_total Invitations created.", "# TYPE voc_invitations_total counter",
                  f"voc_invitations_total {session.scalar(select(func.count(Invitation.id)))}",
                  "# HELP voc_responses_total Completed responses.", "# TYPE voc_responses_total counter",
                  f"voc_responses_total {session.scalar(select(func.count(Response.id)))}"]
    lines += request.app.state.loopwatch.exposition()
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")
