"""create_app(): routers, middleware, error handlers and the in-process worker."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import NoMatchFound

from voc import __version__
from voc.api import audit, contacts, events, metrics, responses, surveys, themes, webhooks
from voc.api.errors import install_error_handlers
from voc.api.sites import router as sites_api_router
from voc.config import get_settings
from voc.db import database_threads, get_engine
from voc.email.routes import router as email_router
from voc.embed.routes import router as embed_router
from voc.errors import VocError
from voc.jobs.worker import Worker
from voc.resources import resource_dir
from voc.web import auth, ops, survey
from voc.web.activity import Activity, TrackActivity
from voc.web.dashboard import dashboard_router
from voc.web.i18n import catalog_languages, gettext_functions
from voc.web.input_guard import InputGuard
from voc.web.loopwatch import LoopWatch
from voc.web.security import PublicRateLimit, SecurityHeaders
from voc.web.templating import render, templates
from voc.webhooks import transport

log = logging.getLogger(__name__)

def _is_html_page(request: Request) -> bool:
    return request.url.path.startswith(("/dashboard", "/login", "/logout"))


def _install_dashboard_errors(app: FastAPI) -> None:
    """Dashboard pages answer with HTML (a page or, for htmx, a message), the API with JSON."""
    json_handler = app.exception_handlers[VocError]

    async def on_voc_error(request: Request, exc: VocError) -> Response:
        if not _is_html_page(request):
            return await json_handler(request, exc)
        if request.headers.get("hx-request") == "true":
            return Response(exc.message, status_code=exc.status_code, media_type="text/plain", headers=exc.headers)
        response = render(request, "dashboard/error.html", {"heading": "Not allowed" if exc.status_code == 403
                                                            else "Something is not right", "message": exc.message},
                          status_code=exc.status_code)
        response.headers.update(exc.headers or {})
        return response

    async def on_login_required(request: Request, exc: auth.LoginRequired) -> Response:
        if not _is_html_page(request):
            return JSONResponse({"error": {"code": "unauthorized", "message": "sign in first"}}, 401)
        return auth.login_redirect(request)

    app.add_exception_handler(VocError, on_voc_error)  # type: ignore[arg-type]
    app.add_exception_handler(auth.LoginRequired, on_login_required)  # type: ignore[arg-type]


def warm_up(app: FastAPI, *, analyser: bool) -> None:
    """Do before serving what the first requests would otherwise do on the event loop: FastAPI builds
    its routes' state on first use, Jinja compiles each template on first render, Babel compiles each
    catalog on first use (together a few hundred milliseconds that would hold up the first customers).
    Then everything loaded so far is moved out of the garbage collector's sight (gc.freeze): a full
    collection over the analyser's lexicons paused the loop for 200-300 ms under load."""
    app.openapi()
    with contextlib.suppress(NoMatchFound):
        app.url_path_for("voc-warm-up")  # looks through every route, building each one's state
    for name in templates.env.list_templates(extensions=["html", "txt"]):
        templates.env.get_template(name)
    for language in catalog_languages():
        gettext_functions(language)
    database_threads(app.state.engine)
    if analyser:  # the in-process worker's first job would load the lexicons (seconds of CPU) mid-burst
        from voc.sentiment.analyser import get_scorer

        get_scorer()
    gc.collect()
    gc.freeze()


def create_app(*, engine: Engine | None = None, run_worker: bool = False, serving: bool = False) -> FastAPI:
    """The voc web application; with `run_worker`, a job worker runs in this process too. `serving` (the
    server process, not a test's client) warms it up before the first request (see warm_up)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if serving:
            warm_up(app, analyser=run_worker)
        watch = asyncio.create_task(app.state.loopwatch.run())
        # Threads for handlers, database work and rendering: the GIL lets one run Python at a time, so
        # more only add start-up stalls (the loop waits for each new thread to start) under a burst.
        to_thread.current_default_thread_limiter().total_tokens = get_settings().threads
        worker = Worker(app.state.engine, give_way_to=app.state.activity) if run_worker else None
        if worker:
            worker.start_thread()
        yield
        if worker:
            worker.stop()
        watch.cancel()
        transport.close_clients()  # the webhook sender's pooled HTTP connections

    # The API docs and schema are public outside production; in production only with VOC_PUBLIC_DOCS=true.
    docs = get_settings().env != "production" or get_settings().public_docs
    app = FastAPI(title="voc", version=__version__, lifespan=lifespan,
                  docs_url="/docs" if docs else None, redoc_url="/redoc" if docs else None,
                  openapi_url="/openapi.json" if docs else None,
                  description="Voice of the customer: touchpoint surveys, experience analysis, CRM write-back.")
    app.state.engine = engine or get_engine()
    app.state.loopwatch = LoopWatch(get_settings().loop_stall_warn_ms / 1000)
    install_error_handlers(app)

    # The busiest routes first (every answer, every CRM event): routes are matched in this order.
    for module in (responses, events, surveys, metrics, themes, webhooks, contacts, audit):
        app.include_router(module.router, prefix="/api/v1")
    app.include_router(sites_api_router, prefix="/api/v1")
    app.include_router(embed_router)
    app.include_router(ops.router)
    app.include_router(survey.router)
    app.include_router(email_router)
    app.include_router(auth.router)
    app.include_router(dashboard_router())
    _install_dashboard_errors(app)
    # Innermost of the middleware: its refusals (bad text, oversized bodies) still get the security headers.
    app.add_middleware(InputGuard)
    settings = get_settings()
    # Signed (not encrypted) cookie holding only the user id, its session epoch and the CSRF token.
    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key, session_cookie=auth.SESSION_COOKIE,
                       max_age=auth.SESSION_HOURS * 3600, same_site="lax",
                       https_only=settings.base_url.lower().startswith("https://"))
    # Public routes are limited per client address before anything reads their body or the database.
    app.add_middleware(PublicRateLimit)
    app.add_middleware(SecurityHeaders)
    app.state.activity = Activity()
    app.add_middleware(TrackActivity, activity=app.state.activity)
    app.mount("/static", StaticFiles(directory=resource_dir("static")), name="static")
    return app
