"""Shared fixtures: a migrated database per test (SQLite, and PostgreSQL when configured),
settings from the environment, an app client and API keys."""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from voc.config import get_settings
from voc.db import deferred, dispose_engines, make_engine, migrate
from voc.models import metadata

POSTGRES_URL = os.environ.get("VOC_TEST_POSTGRES_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"
TEST_SECRET = "test-secret-key-0123456789abcdef0123456789"


def skip_or_fail(reason: str) -> None:
    """Skip locally when a service is missing; under CI=true a missing service is a failure."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this must not be skipped)")
    pytest.skip(reason)


def pytest_report_header(config: pytest.Config) -> list[str]:
    postgres = POSTGRES_URL or "not set: tests marked postgres are SKIPPED (set VOC_TEST_POSTGRES_URL to run them)"
    return [f"voc: VOC_TEST_POSTGRES_URL={postgres}; CI={'true' if IN_CI else 'false'} "
            f"({'a skip for a missing service fails' if IN_CI else 'missing services skip'})"]


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("VOC_ENV", "test")
    monkeypatch.setenv("VOC_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("VOC_BASE_URL", "http://testserver")
    monkeypatch.setenv("VOC_DATABASE_URL", f"sqlite:///{tmp_path / 'unused.db'}")
    monkeypatch.setenv("VOC_JOB_POLL_SECONDS", "0.05")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
    dispose_engines()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is much faster)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate(f"sqlite:///{path}")
    dispose_engines()
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=DELETE")  # one self-contained file to copy
    connection.close()
    return path


@pytest.fixture(scope="session")
def postgres_database(worker_id: str) -> Iterator[str]:
    """A migrated PostgreSQL database of this xdist worker's own, dropped at the end."""
    if not POSTGRES_URL:
        yield ""
        return
    base = make_url(POSTGRES_URL)
    name = f"voc_test_{worker_id}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # the server is not there
        admin.dispose()
        yield f"unavailable: {exc}"
        return
    url = base.set(database=name).render_as_string(hide_password=False)
    migrate(url)
    yield url
    if url in _emptiers:
        _emptiers.pop(url)[0].dispose()
    dispose_engines()
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


_emptiers: dict[str, tuple[Engine, str]] = {}


def _empty_all(url: str) -> None:
    """Empty every table and restart every sequence, as a freshly migrated database has them.

    DELETE, children before parents, in one round trip: about 1 ms for tables a test filled with a few
    rows, where TRUNCATE (new files for every table and index) took about 100 ms, for each of the
    suite's PostgreSQL tests."""
    if url not in _emptiers:
        engine = make_engine(url)
        tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
        ordered = [table.name for table in reversed(metadata.sorted_tables) if table.name in tables]
        assert set(ordered) == tables, f"tables the models do not know: {tables - set(ordered)}"
        with engine.connect() as connection:
            sequences = connection.exec_driver_sql(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) FROM pg_sequences").scalars()
            restarts = ", ".join(f"setval('{name}', 1, false)" for name in sequences)
        deletes = [f'DELETE FROM "{name}"' for name in ordered]  # noqa: S608 - names from the catalogue
        _emptiers[url] = engine, "; ".join([*deletes, f"SELECT {restarts}"])
    engine, sql = _emptiers[url]
    with engine.begin() as connection:
        connection.exec_driver_sql(sql)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A freshly migrated, empty database: SQLite always, PostgreSQL when VOC_TEST_POSTGRES_URL is set."""
    if request.param == "sqlite":
        path = tmp_path / "voc.db"
        shutil.copy(sqlite_template, path)
        url = f"sqlite:///{path}"
    else:
        url = _empty_postgres(request)
    monkeypatch.setenv("VOC_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url


def _empty_postgres(request: pytest.FixtureRequest) -> str:
    if not POSTGRES_URL:
        skip_or_fail("PostgreSQL tests need VOC_TEST_POSTGRES_URL")
    url = request.getfixturevalue("postgres_database")
    if url.startswith("unavailable"):
        skip_or_fail(f"PostgreSQL at VOC_TEST_POSTGRES_URL is {url}")
    _empty_all(url)
    return url


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty, migrated PostgreSQL database, for tests that only make sense there."""
    url = _empty_postgres(request)
    monkeypatch.setenv("VOC_DATABASE_URL", url)
    get_settings.cache_clear()
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    # Deferred BEGIN: a test that reads between requests must not hold SQLite's write lock.
    with Session(deferred(engine), expire_on_commit=False) as session:
        yield session


@pytest.fixture
def app(engine: Engine):  # noqa: ANN201
    from voc.app import create_app

    return create_app(engine=engine)


@pytest.fixture
def client(app):  # noqa: ANN001, ANN201
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        yield client


@pytest.fixture
def make_key(engine: Engine) -> Callable[..., str]:
    """Make an API key with the given scopes; returns the plaintext."""
    from voc.auth.service import create_api_key

    def make(*scopes: str, name: str = "test") -> str:
        with Session(engine) as session:
            _, plaintext = create_api_key(session, name, list(scopes) or ["admin"])
            session.commit()
        return plaintext

    return make


@pytest.fixture
def admin_headers(make_key: Callable[..., str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_key('admin')}"}


@pytest.fixture
def run_jobs(engine: Engine) -> Callable[[], int]:
    """Run every due job now, as the worker would; returns how many ran."""
    from voc.jobs.worker import Worker

    def run() -> int:
        return Worker(engine).run_until_idle()

    return run


@pytest.fixture
def make_user(engine: Engine) -> Callable[..., tuple[str, str]]:
    """Make a dashboard user with a role; returns (email, password)."""
    from voc.auth.users import create_user

    def make(role: str = "admin", email: str | None = None) -> tuple[str, str]:
        email = email or f"{role}-{uuid.uuid4().hex[:6]}@example.com"
        password = "correct horse battery"
        with Session(engine) as session:
            create_user(session, email, role, password)
            session.commit()
        return email, password

    return make


def csrf_of(html: str) -> str:
    """The CSRF token a page carries (hidden form field)."""
    import re

    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


@pytest.fixture
def login(client, make_user: Callable[..., tuple[str, str]]) -> Callable[[str], str]:
    """Sign the test client in with a new user of `role`; returns the session's CSRF token."""

    def sign_in(role: str = "admin") -> str:
        email, password = make_user(role)
        token = csrf_of(client.get("/login").text)
        answer = client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                             follow_redirects=False)
        assert answer.status_code == 303, answer.text
        return csrf_of(client.get("/dashboard").text)

    return sign_in
