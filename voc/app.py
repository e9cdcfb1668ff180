"""create_app(): routers, middleware, error handlers and the in-process worker."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from voc import __version__
from voc.api import contacts, events, metrics, responses, surveys, themes, webhooks
from voc.api.errors import install_error_handlers
from voc.db import get_engine
from voc.jobs.worker import Worker
from voc.resources import resource_dir
from voc.web import ops, survey

log = logging.getLogger(__name__)

_SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    # Survey links carry their token in the path: never leak it to another site.
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "content-security-policy": (
        "default-src 'self'; script-src 'self' https://unpkg.com; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
}


def create_app(*, engine: Engine | None = None, run_worker: bool = False) -> FastAPI:
    """The voc web application; with `run_worker`, a job worker runs in this process too."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = Worker(app.state.engine) if run_worker else None
        if worker:
            worker.start_thread()
        yield
        if worker:
            worker.stop()

    app = FastAPI(title="voc", version=__version__, lifespan=lifespan,
                  description="Voice of the customer: touchpoint surveys, experience analysis, CRM write-back.")
    app.state.engine = engine or get_engine()
    install_error_handlers(app)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in _SECURITY_HEADERS.items():
            # The interactive API docs load their own scripts; they carry no customer data.
            if name == "content-security-policy" and request.url.path.startswith(("/docs", "/redoc")):
                continue
            response.headers.setdefault(name, value)
        return response

    for module in (surveys, events, responses, metrics, themes, webhooks, contacts):
        app.include_router(module.router, prefix="/api/v1")
    app.include_router(ops.router)
    app.include_router(survey.router)
    app.mount("/static", StaticFiles(directory=resource_dir("static")), name="static")
    return app
