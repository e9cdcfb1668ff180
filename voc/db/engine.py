"""Engines and sessions (SQLite set up for WAL and write turns), column types shared by all domains,
the bounded waits' errors, and migrations."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import JSON, DateTime, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel, create_engine

from voc.config import get_settings
from voc.errors import Busy

T = TypeVar("T")

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; voc stores timezone-aware UTC only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class WriteTurn:
    """The writers of one process take turns on a lock of their own before SQLite's: a thread waiting
    here starts the moment the writer before it commits, where SQLite's busy handler polls, sleeping
    1, 2, 5, 10 … ms between tries (with webhook deliveries, the worker's claims and the answers'
    writer all writing, those sleeps were most of a delivery's time). SQLite's lock still orders the
    processes sharing a file. Held from BEGIN IMMEDIATE until the driver's commit or rollback returns
    (the pool's reset of a returned connection included); the wait is bounded like SQLite's."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._holder: Any = None

    def take(self, driver: Any) -> None:
        if not self._lock.acquire(timeout=self.timeout):
            raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))
        self._holder = driver

    def give_back(self, driver: Any) -> None:
        if self._holder is driver:
            self._holder = None
            self._lock.release()

    def after(self, end: Callable[[Any], None]) -> Callable[[Any], None]:
        """`end` (the dialect's commit or rollback), then the turn passes on if this connection held it."""

        def ended(dbapi_connection: Any) -> None:
            try:
                end(dbapi_connection)
            finally:
                self.give_back(getattr(dbapi_connection, "driver_connection", dbapi_connection))

        return ended


def _configure_sqlite(engine: Engine, busy_timeout_ms: int = 5000) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" hook issue BEGIN IMMEDIATE: a deferred transaction that later
        # writes can fail with SQLITE_BUSY at once instead of waiting for the lock.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()

    turn = WriteTurn(busy_timeout_ms / 1000)
    engine.dialect.do_commit = turn.after(engine.dialect.do_commit)  # type: ignore[method-assign]
    engine.dialect.do_rollback = turn.after(engine.dialect.do_rollback)  # type: ignore[method-assign]
    engine.dialect.do_close = turn.after(engine.dialect.do_close)  # type: ignore[method-assign]

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin")
        # Straight to the driver: this runs for every transaction, and Core's execution path costs
        # several times what the statement does.
        begin = "BEGIN IMMEDIATE" if mode is None else "BEGIN"
        driver = connection.connection.driver_connection
        if mode is None:
            turn.take(driver)
        try:
            driver.execute(begin)
        except sqlite3.OperationalError as exc:  # e.g. "database is locked": as Core would raise it
            turn.give_back(driver)
            raise OperationalError(begin, None, exc) from exc
        if mode == "read":  # a reader that wrote could fail to upgrade its lock under load: make it fail always
            driver.execute("PRAGMA query_only = 1")

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(connection: Any) -> None:
        if connection.get_execution_options().get("sqlite_begin") == "read":
            connection.connection.driver_connection.execute("PRAGMA query_only = 0")


def reading(engine: Engine) -> Engine:
    """The engine for sessions that only read: on SQLite they then take no write lock while open (and
    cannot write: `PRAGMA query_only`), so a slow page never holds up the answers being stored."""
    return engine.execution_options(sqlite_begin="read")


def deferred(engine: Engine) -> Engine:
    """The engine for sessions that take SQLite's write lock only when they first write (a test's own
    session, open beside the app's; a write after another connection's may then fail to upgrade)."""
    return engine.execution_options(sqlite_begin="deferred")


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def make_engine(url: str) -> Engine:
    """A new engine for `url`, with SQLite set up for WAL, foreign keys and write locking.

    Every wait is bounded by settings: a connection from the pool (VOC_DB_POOL_SIZE,
    VOC_DB_MAX_OVERFLOW, VOC_DB_POOL_TIMEOUT_SECONDS), SQLite's write lock and PostgreSQL's row locks
    (VOC_DB_LOCK_TIMEOUT_SECONDS); past them a request is answered 503 busy (see is_busy)."""
    settings = get_settings()
    pool = {"pool_size": settings.db_pool_size, "max_overflow": settings.db_max_overflow,
            "pool_timeout": settings.db_pool_timeout_seconds}
    if make_url(url).get_backend_name() == "sqlite":
        lock_timeout = settings.db_lock_timeout_seconds
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": lock_timeout}, **pool)
        _configure_sqlite(engine, busy_timeout_ms=int(lock_timeout * 1000))
        return engine
    return create_engine(url, pool_pre_ping=True, connect_args=postgres_lock_timeout(), **pool)


def postgres_lock_timeout() -> dict[str, str]:
    """PostgreSQL connection arguments that bound a wait for a lock (a row another transaction is changing) by
    VOC_DB_LOCK_TIMEOUT_SECONDS: set once per connection, not per transaction. Past it the statement fails
    with 55P03 (is_busy: 503 busy for a request, a retry later for a job) instead of waiting as long as the
    holder does, with a request thread or a pool connection held all the while."""
    lock_timeout_ms = max(1, int(get_settings().db_lock_timeout_seconds * 1000))
    return {"options": f"-c lock_timeout={lock_timeout_ms}"}


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for `url` (default: the configured database)."""
    url = url or get_settings().database_url
    with _engines_lock:
        if url not in _engines:
            _engines[url] = make_engine(url)
        return _engines[url]


def dispose_engines() -> None:
    """Close every pooled connection (tests, shutdown, after fork)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()  # and stops its GroupWriter
        _engines.clear()


def is_busy(exc: BaseException) -> bool:
    """The pool had no connection within its timeout, SQLite's write lock stayed taken, or a PostgreSQL row
    lock stayed held past the lock timeout."""
    if isinstance(exc, PoolTimeout):
        return True
    driver_error = exc.orig if isinstance(exc, OperationalError) else exc  # statements run on psycopg raise its own
    if getattr(driver_error, "sqlstate", None) == "55P03":
        return True  # PostgreSQL's lock_timeout (lock_not_available)
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


def busy(exc: BaseException | None = None) -> Busy:
    """The 503 a request gets when the database is too busy to take it within the bounded wait."""
    return Busy("the database is busy; try again in a moment")


_SHARED_AT_COMMIT = "voc_shared_rows_at_commit"


def shared_rows_at_commit(session: Session) -> None:
    """Ask the writers of rows that many transactions change (the rollups' counters) to hold their changes
    and write them, merged, just before this session commits: a transaction that runs many jobs then holds
    those rows' locks for a moment at its end, not for all its work, and writes each row once."""
    session.info[_SHARED_AT_COMMIT] = True


def holds_shared_rows(session: Session) -> bool:
    return bool(session.info.get(_SHARED_AT_COMMIT))


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on error."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def migrate(url: str | None = None, revision: str = "head") -> None:
    """Upgrade the database at `url` to `revision` with Alembic."""
    import logging

    from alembic import command

    logging.getLogger("alembic").setLevel(logging.WARNING)
    command.upgrade(alembic_config(url), revision)


def alembic_config(url: str | None = None) -> Any:
    """An Alembic config pointing at voc's migrations and the given database."""
    from alembic.config import Config

    from voc.resources import resource_dir

    config = Config()
    config.set_main_option("script_location", str(resource_dir("migrations")))
    config.set_main_option("sqlalchemy.url", (url or get_settings().database_url).replace("%", "%%"))
    return config
