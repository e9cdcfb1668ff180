"""Browser fixtures: a live `voc serve` per xdist worker on its own SQLite file, the system
Chromium driven by Playwright, and pages whose console errors, uncaught errors and dialogs are recorded.

Browser tests run on SQLite only. Locally they skip when Chromium is missing; under CI=true that fails."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.browser.helpers import (
    BLOCKED_ORIGINS,
    CHROMIUM,
    CHROMIUM_ARGS,
    HTMX_STARTED_SCRIPT,
    LiveServer,
    PageLog,
    sign_in,
)
from tests.conftest import TEST_SECRET, skip_or_fail
from voc.auth.users import create_user
from voc.config import get_settings
from voc.db import make_engine, session_scope
from voc.demo.loader import DemoSummary, load_demo

DEFAULT_TIMEOUT_MS = 5_000  # a page here answers in milliseconds: fail fast rather than wait 30 s


@pytest.fixture(scope="session", autouse=True)
def _live_server_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # Autouse, so that the server boots (and migrates its database) while Chromium launches.
    server = LiveServer(tmp_path_factory.mktemp("live"), {"VOC_ENV": "test", "VOC_SECRET_KEY": TEST_SECRET})
    yield server
    server.stop()


@pytest.fixture
def live_server(_live_server_process: LiveServer, monkeypatch: pytest.MonkeyPatch) -> LiveServer:
    """This worker's running voc; the test's settings point at it, so links made here open there.

    The server lives for the whole session: make each test's rows distinct (keys, contacts)."""
    _live_server_process.wait_until_ready()
    monkeypatch.setenv("VOC_DATABASE_URL", _live_server_process.database_url)
    monkeypatch.setenv("VOC_BASE_URL", _live_server_process.url)
    get_settings.cache_clear()
    return _live_server_process


@pytest.fixture
def live_engine(live_server: LiveServer) -> Iterator[Engine]:
    """An engine on the live server's database, to arrange rows and check what a page stored."""
    engine = make_engine(live_server.database_url)
    yield engine
    engine.dispose()


@dataclass(frozen=True)
class DemoWorkspace:
    """The demo data loaded into this worker's live server, and a dashboard user of each role."""

    summary: DemoSummary
    password: str
    users: dict[str, str]  # role -> e-mail


# Small enough to load in seconds on a slow machine, large enough for every chart and list to show something
# (90 days, not the demo's six months: this many responses spread over six months leave too few in the
# dashboard's default 90 days for the journey's peaks and pain points).
DEMO = {"seed": 7, "contacts": 60, "responses": 150, "days": 90}
DEMO_PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def demo(_live_server_process: LiveServer) -> DemoWorkspace:
    """The demo workspace in the live server's database, once per worker, with its jobs run (the loader
    runs a Worker until idle, so analyses, rollups and follow-ups exist), and an admin, analyst and viewer."""
    server = _live_server_process
    server.wait_until_ready()  # the server has migrated its database
    users = {role: f"{role}@demo.example" for role in ("admin", "analyst", "viewer")}
    with pytest.MonkeyPatch.context() as env:
        # The settings the live server runs with: invitation tokens made here must open there.
        env.setenv("VOC_ENV", "test")
        env.setenv("VOC_SECRET_KEY", TEST_SECRET)
        env.setenv("VOC_DATABASE_URL", server.database_url)
        env.setenv("VOC_BASE_URL", server.url)
        get_settings.cache_clear()
        engine = make_engine(server.database_url)
        try:
            summary = load_demo(**DEMO, engine=engine)
            with session_scope(engine) as session:
                for role, email in users.items():
                    create_user(session, email, role, DEMO_PASSWORD)
        finally:
            engine.dispose()
            get_settings.cache_clear()
    return DemoWorkspace(summary=summary, password=DEMO_PASSWORD, users=users)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Chromium from Debian's package, headless, one per xdist worker."""
    if not CHROMIUM.exists():
        skip_or_fail(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("browser tests need the playwright package (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page_log() -> PageLog:
    """Console errors, uncaught errors and dialogs of every page this test opened."""
    return PageLog()


@pytest.fixture
def new_page(browser: Any, page_log: PageLog) -> Iterator[Callable[..., Any]]:
    """Open a page in a fresh browser context (options as for `browser.new_context`, e.g.
    `java_script_enabled=False` or `viewport=...`). Third-party origins are aborted at once.
    A console error or an uncaught page error on any of them fails the test."""
    contexts: list[Any] = []

    def make(**context_options: Any) -> Any:
        context = browser.new_context(**context_options)
        contexts.append(context)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        context.add_init_script(HTMX_STARTED_SCRIPT)  # see helpers.wait_for_htmx_started
        for origin in BLOCKED_ORIGINS:
            context.route(f"{origin}**", lambda route: route.abort())
        page = context.new_page()
        page_log.watch(page)
        return page

    yield make
    for context in contexts:
        context.close()
    problems = page_log.problems()
    if problems:
        pytest.fail("the page reported errors:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    """A page with JavaScript on, in a desktop-sized window."""
    return new_page()


@pytest.fixture
def signed_in(new_page: Callable[..., Any], live_server: LiveServer, demo: DemoWorkspace) -> Callable[..., Any]:
    """A page of the demo workspace signed in through the /login form as `role` (admin by default);
    context options as for `new_page`."""

    def make(role: str = "admin", **context_options: Any) -> Any:
        page = new_page(**context_options)
        sign_in(page, live_server.url, demo.users[role], demo.password)
        return page

    return make
