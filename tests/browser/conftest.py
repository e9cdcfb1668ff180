"""Browser fixtures: a live `voc serve` per xdist worker on its own SQLite file, the system
Chromium driven by Playwright, and pages whose console errors, uncaught errors and dialogs are recorded.

Browser tests run on SQLite. A test marked `live_postgres` runs a second time against a live `voc serve`
on a PostgreSQL database of its own (started on first use; every such test goes to one xdist worker, so
one server and one demo load serve them all): a representative few, as each page is the same code on
both. Locally they skip when Chromium (or VOC_TEST_POSTGRES_URL) is missing; under CI=true that fails."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.browser.helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LiveServer,
    PageLog,
    open_context,
    sign_in,
)
from tests.conftest import POSTGRES_URL, TEST_SECRET, skip_or_fail
from voc.auth.users import create_user
from voc.config import get_settings
from voc.db import dispose_engines, make_engine, migrate, session_scope
from voc.demo.loader import DemoSummary, load_demo


@pytest.fixture(scope="session", autouse=True)
def _live_server_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # Autouse, so that the server boots (and migrates its database) while Chromium launches.
    server = LiveServer(tmp_path_factory.mktemp("live"), {"VOC_ENV": "test", "VOC_SECRET_KEY": TEST_SECRET})
    yield server
    server.stop()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "live_postgres: a browser test that runs on a PostgreSQL live server too")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "live_backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker("live_postgres"):
        postgres = pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.xdist_group("live_postgres")])
        metafunc.parametrize("live_backend", ["sqlite", postgres], indirect=True)


@pytest.fixture
def live_backend(request: pytest.FixtureRequest) -> str:
    """The database of this test's live server: "sqlite", or "postgres" in the second run of a test
    marked live_postgres."""
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="session")
def _postgres_live_server(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[LiveServer]:
    """A live `voc serve` on a PostgreSQL database of this worker's own, dropped at the end."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    if not POSTGRES_URL:
        skip_or_fail("browser tests on PostgreSQL need VOC_TEST_POSTGRES_URL")
    base = make_url(POSTGRES_URL)
    name = f"voc_browser_{worker_id}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
            # A database thrown away at the end need not wait for each commit to reach the disk: the demo
            # loads in about two thirds of the time.
            connection.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    except Exception as exc:  # noqa: BLE001 - the server is not there
        admin.dispose()
        skip_or_fail(f"PostgreSQL at VOC_TEST_POSTGRES_URL is unavailable: {exc}")
    url = base.set(database=name).render_as_string(hide_password=False)
    migrate(url)  # here, so the demo loads while the server boots
    dispose_engines()
    server = LiveServer(tmp_path_factory.mktemp("live-postgres"), {"VOC_ENV": "test", "VOC_SECRET_KEY": TEST_SECRET},
                        database_url=url)
    yield server
    server.stop()
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _server_of(request: pytest.FixtureRequest, backend: str) -> LiveServer:
    return request.getfixturevalue("_live_server_process" if backend == "sqlite" else "_postgres_live_server")


@pytest.fixture
def live_server(live_backend: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> LiveServer:
    """This worker's running voc (on SQLite, or on PostgreSQL: see live_backend); the test's settings point
    at it, so links made here open there.

    The server lives for the whole session: make each test's rows distinct (keys, contacts)."""
    server = _server_of(request, live_backend)
    server.wait_until_ready()
    monkeypatch.setenv("VOC_DATABASE_URL", server.database_url)
    monkeypatch.setenv("VOC_BASE_URL", server.url)
    get_settings.cache_clear()
    return server


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
    """The demo workspace in the (SQLite) live server's database, once per worker, with its jobs run (the
    loader runs a Worker until idle, so analyses, rollups and follow-ups exist), and an admin, analyst and
    viewer. A test that may run on PostgreSQL takes `live_demo` instead."""
    return _load_demo(_live_server_process)


@pytest.fixture(scope="session")
def _postgres_demo(_postgres_live_server: LiveServer) -> DemoWorkspace:
    return _load_demo(_postgres_live_server, migrated=True)


@pytest.fixture
def live_demo(live_backend: str, request: pytest.FixtureRequest) -> DemoWorkspace:
    """The demo workspace in this test's live server (see live_backend)."""
    return request.getfixturevalue("demo" if live_backend == "sqlite" else "_postgres_demo")


def _load_demo(server: LiveServer, migrated: bool = False) -> DemoWorkspace:
    if not migrated:
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
        context = open_context(browser, **context_options)
        contexts.append(context)
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
def signed_in(new_page: Callable[..., Any], live_server: LiveServer, live_demo: DemoWorkspace) -> Callable[..., Any]:
    """A page of the demo workspace signed in through the /login form as `role` (admin by default);
    context options as for `new_page`."""

    def make(role: str = "admin", **context_options: Any) -> Any:
        page = new_page(**context_options)
        sign_in(page, live_server.url, live_demo.users[role], live_demo.password)
        return page

    return make
