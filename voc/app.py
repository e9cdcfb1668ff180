"""create_app(): routers, middleware, error handlers and the in-process worker."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import NoMatchFound

from voc import __version__
from voc.api import audit, contacts, events, metrics, responses, surveys, themes, webhooks
from voc.api.embed import router as embed_router
from voc.api.errors import install_error_handlers
from voc.api.sites import router as sites_api_router
from voc.config import get_settings
from voc.db import batch_writer, database_threads, get_engine
from voc.errors import VocError
from voc.jobs.worker import Worker
from voc.resources import resource_dir
from voc.web import auth, ops, survey, unsubscribe
from voc.web.activity import Activity
from voc.web.dashboard import dashboard_routers
from voc.web.error_pages import error_page, http_error_page
from voc.web.i18n import catalog_languages, gettext_functions
from voc.web.input_guard import InputGuard
from voc.web.loopwatch import LoopWatch
from voc.web.metrics import RequestMetrics
from voc.web.security import PublicRateLimit, SecurityHeaders
from voc.web.templating import templates
from voc.webhooks import transport

log = logging.getLogger(__name__)

def _is_html_page(request: Request) -> bool:
    return request.url.path.startswith(("/dashboard", "/login", "/logout"))


def _install_dashboard_errors(app: FastAPI) -> None:
    """Dashboard pages answer with HTML (a page or, for htmx, a message), the API with JSON."""
    json_handler = app.exception_handlers[VocError]
    http_json_handler = app.exception_handlers[StarletteHTTPException]

    async def on_voc_error(request: Request, exc: VocError) -> Response:
        if not _is_html_page(request):
            return await json_handler(request, exc)
        return error_page(request, exc.status_code, exc.message, exc.headers)

    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # No such dashboard address (404) or method (405): a page, not the API's JSON.
        if not _is_html_page(request):
            return await http_json_handler(request, exc)
        return http_error_page(request, exc)

    validation_json_handler = app.exception_handlers[RequestValidationError]

    async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
        # A form sent without a field it needs, or a value of the wrong kind: say which, on a page.
        if not _is_html_page(request):
            return await validation_json_handler(request, exc)
        problems = [f"{'.'.join(str(part) for part in error.get('loc', ())[1:]) or 'the form'}: "
                    f"{error.get('msg', 'not valid')}" for error in exc.errors()[:3]]
        return error_page(request, 422, "This was sent with something missing or not valid ("
                          + "; ".join(problems) + "). Go back, check the form and send it again.")

    async def on_login_required(request: Request, exc: auth.LoginRequired) -> Response:
        if not _is_html_page(request):
            return JSONResponse({"error": {"code": "unauthorized", "message": "sign in first"}}, 401)
        return auth.login_redirect(request)

    app.add_exception_handler(VocError, on_voc_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, on_http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, on_validation_error)  # type: ignore[arg-type]
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
    batch_writer(app.state.engine)
    if analyser:  # the in-process worker's first job would load the lexicons (seconds of CPU) mid-burst
        from voc.sentiment.analyser import get_scorer

        get_scorer()
    gc.collect()
    gc.freeze()


def add_routes(app: FastAPI, router: APIRouter, prefix: str = "", *, in_schema: bool = True) -> None:
    """Add a router's routes to the app itself, each under `prefix`, as `include_router` did before
    FastAPI 0.137. Since then an included router is matched through a layer of route contexts per
    request: 0.5 ms to reach a survey page and over 1 ms to reach a dashboard page or answer a 404,
    measured, against 20-300 µs for the same routes held by the app."""
    app.router.routes.extend(_app_routes(router, prefix, in_schema))


_built: dict[tuple[int, str, bool], list[APIRoute]] = {}


def _app_routes(router: APIRouter, prefix: str, in_schema: bool) -> list[APIRoute]:
    """The router's routes as the app holds them, built once per process and shared by every app made in it:
    building one analyses its dependencies and parameters (0.3 s for all of voc's), and the tests make an app
    for each of a thousand tests. A route holds nothing of the app it serves (voc overrides no dependencies)."""
    key = (id(router), prefix, in_schema)
    if key not in _built:
        holder = APIRouter()
        accepted = inspect.signature(holder.add_api_route).parameters
        for route in router.routes:
            if not isinstance(route, APIRoute):
                raise TypeError(f"{route!r}: only API routes are added this way")
            options = {name: getattr(route, name) for name in _ROUTE_OPTIONS if name in accepted}
            options["include_in_schema"] = route.include_in_schema and in_schema
            holder.add_api_route(prefix + route.path, route.endpoint, **options)
        _built[key] = [route for route in holder.routes if isinstance(route, APIRoute)]
    return _built[key]


# Everything a route was declared with (its router's tags, responses and dependencies already merged in);
# include_in_schema is set by add_routes itself.
_ROUTE_OPTIONS = ("response_model", "status_code", "tags", "dependencies", "summary", "description",
                  "response_description", "responses", "deprecated", "methods", "operation_id",
                  "response_model_include", "response_model_exclude", "response_model_by_alias",
                  "response_model_exclude_unset", "response_model_exclude_defaults", "response_model_exclude_none",
                  "response_class", "name", "callbacks", "openapi_extra",
                  "generate_unique_id_function", "strict_content_type", "max_body_size")


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

    # The busiest routes first (every answer, the survey pages, every CRM event): routes are matched in
    # this order.
    add_routes(app, responses.router, "/api/v1")
    add_routes(app, survey.router)
    add_routes(app, events.router, "/api/v1")
    add_routes(app, embed_router)
    add_routes(app, ops.router)  # health checks, polled by load balancers
    for module in (surveys, metrics, themes, webhooks, contacts, audit):
        add_routes(app, module.router, "/api/v1")
    add_routes(app, sites_api_router, "/api/v1")
    for router in (unsubscribe.router, auth.router):
        add_routes(app, router)
    for router in dashboard_routers():
        add_routes(app, router, in_schema=False)  # pages, not API
    _install_dashboard_errors(app)
    # Innermost of the middleware: its refusals (bad text, oversized bodies) still get the security headers.
    app.add_middleware(InputGuard)
    settings = get_settings()
    # Signed (not encrypted) cookie holding only the user id, its session epoch and the CSRF token.
    app.add_middleware(auth.DashboardSessions, secret_key=settings.secret_key, session_cookie=auth.SESSION_COOKIE,
                       max_age=auth.SESSION_HOURS * 3600, same_site="lax",
                       https_only=settings.base_url.lower().startswith("https://"))
    # Public routes are limited per client address before anything reads their body or the database.
    app.add_middleware(PublicRateLimit)
    app.add_middleware(SecurityHeaders)
    app.state.activity = Activity()
    # Outermost: times every answer (refusals of the middleware above too) and counts requests in flight.
    app.add_middleware(RequestMetrics, activity=app.state.activity)
    app.mount("/static", StaticFiles(directory=resource_dir("static")), name="static")
    return app
