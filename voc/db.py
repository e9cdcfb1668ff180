"""Engine, sessions, column types shared by all domains, and migrations."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from anyio import to_thread
from sqlalchemy import JSON, DateTime, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel, create_engine

from voc.config import get_settings

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



class Prepared:
    """A Core statement compiled once per dialect and run on the DBAPI cursor directly.

    For the few statements every answer runs. SQLAlchemy's execution context (events, result
    objects, parameter handling) costs about 45 µs per statement, several times what SQLite
    takes to run one of these. Values are converted both ways by the columns' own types, as Core
    does (bind and result processors, dialect by dialect); a statement that would need Core's help
    (Python-side column defaults, expanding IN parameters) is refused when first compiled."""

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._dml = statement.is_dml
        self._plans: dict[tuple, _Plan] = {}

    def _plan(self, dialect: Any, params: dict[str, Any]) -> _Plan:
        keys = tuple(params) if self._dml else ()  # (callers pass their keys in one order: no sorting per call)
        plan = self._plans.get((dialect.name, keys))
        if plan is None:
            plan = self._plans[(dialect.name, keys)] = _Plan(self.statement, dialect, keys)
        return plan

    def _query(self, connection: Connection, params: dict[str, Any], fetch: Callable[[Any], Any]) -> tuple:
        plan = self._plan(connection.dialect, params)
        cursor = _cursor(connection)
        try:
            cursor.execute(plan.sql, plan.bind(params))
            return plan.results, fetch(cursor)
        finally:
            cursor.close()

    def first(self, connection: Connection, params: dict[str, Any]) -> tuple | None:
        """The first row the statement returns (converted by its columns' types), or None."""
        results, row = self._query(connection, params, lambda cursor: cursor.fetchone())
        if row is None or not results:
            return row
        return tuple(p(v) if p else v for p, v in zip(results, row, strict=True))

    def all(self, connection: Connection, params: dict[str, Any]) -> list[tuple]:
        """Every row the statement returns (converted by its columns' types)."""
        results, rows = self._query(connection, params, lambda cursor: cursor.fetchall())
        if not results:
            return rows
        return [tuple(p(v) if p else v for p, v in zip(results, row, strict=True)) for row in rows]

    def run(self, connection: Connection, params: dict[str, Any] | list[dict[str, Any]]) -> int:
        """Execute once (a dict) or for each of several parameter sets (a list); returns rows affected."""
        many = isinstance(params, list)
        plan = self._plan(connection.dialect, params[0] if many else params)
        cursor = _cursor(connection)
        try:
            if many:
                cursor.executemany(plan.sql, [plan.bind(p) for p in params])
            else:
                cursor.execute(plan.sql, plan.bind(params))
            return cursor.rowcount
        finally:
            cursor.close()


def _cursor(connection: Connection) -> Any:
    if not connection.in_transaction():
        connection.begin()  # as Core would: SQLite's BEGIN IMMEDIATE comes from the "begin" hook
    return connection.connection.cursor()


class _Plan:
    """One dialect's SQL text, parameter order and type processors for a Prepared statement."""

    def __init__(self, statement: Any, dialect: Any, keys: tuple[str, ...]) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys) if keys else None)
        if compiled.literal_execute_params or compiled.post_compile_params or compiled.escaped_bind_names:
            raise ValueError(f"statement needs Core's execution (expanding parameters): {statement}")
        # Columns left out take their default, as with Core; only fixed values can be taken here.
        fixed = {}
        for column, default in [*((c, c.default) for c in getattr(compiled, "insert_prefetch", ())),
                                *((c, c.onupdate) for c in getattr(compiled, "update_prefetch", ()))]:
            if default is None or not default.is_scalar:
                raise ValueError(f"column {column} needs Core's execution (a computed default): {statement}")
            fixed[column.key] = default.arg
        self.sql = compiled.string
        required = object()
        defaults = {name: fixed.get(name, required if bind.required else bind.effective_value)
                    for name, bind in compiled.binds.items()}
        processors = {name: bind.type.dialect_impl(dialect).bind_processor(dialect)
                      for name, bind in compiled.binds.items()}
        names = compiled.positiontup if compiled.positional else list(dict.fromkeys(compiled.bind_names.values()))
        # Per parameter, in the order the driver takes them: name, type processor, default value.
        self.order = [(name, processors[name], defaults[name]) for name in names]
        self.positional = compiled.positional
        self.names = [name for name, _, _ in self.order]
        self.required = required
        # A SELECT's columns, or an INSERT/UPDATE's RETURNING columns (none without RETURNING).
        results = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in statement.exported_columns]
        self.results = results if any(results) else None

    def bind(self, params: dict[str, Any]) -> tuple | dict[str, Any]:
        values = []
        for name, processor, default in self.order:
            value = params.get(name, default)
            if value is self.required:
                raise KeyError(f"no value for the parameter {name!r}")
            values.append(processor(value) if processor else value)
        if self.positional:
            return tuple(values)
        return dict(zip(self.names, values, strict=True))


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


def _configure_sqlite(engine: Engine, busy_timeout_ms: int = 30000, autocheckpoint: bool = True) -> None:
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
        if not autocheckpoint:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin")
        # Straight to the driver: this runs for every transaction, and Core's execution path costs
        # several times what the statement does.
        begin = "BEGIN IMMEDIATE" if mode is None else "BEGIN"
        driver = connection.connection.driver_connection
        try:
            driver.execute(begin)
        except sqlite3.OperationalError as exc:  # e.g. "database is locked": as Core would raise it
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
    """A new engine for `url`, with SQLite set up for WAL, foreign keys and write locking."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=8, max_overflow=8)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


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
            engine.dispose()  # and its _LoopWriter's connections
        _engines.clear()


_background: ThreadPoolExecutor | None = None


def _background_thread() -> ThreadPoolExecutor:
    """One thread for SQLite work the event loop must not wait for (WAL checkpoints)."""
    global _background
    with _engines_lock:
        if _background is None:
            _background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voc-sqlite-checkpoint")
        return _background


LOCK_TIMEOUT_SECONDS = 30.0  # how long a write waits for SQLite's write lock, as busy_timeout does
_RETRY_FIRST, _RETRY_MOST = 0.0005, 0.02


async def in_transaction(engine: Engine, fn: Callable[..., T], *args: Any) -> T:
    """Run `fn(session, *args)` in a transaction of its own without blocking the event loop on a
    lock or the network; commit, return its result.

    SQLite: right here on the loop's thread when the write lock is free (see _LoopWriter); while
    another connection holds it, the coroutine sleeps and tries again (0.5 ms, doubling up to
    20 ms), for up to LOCK_TIMEOUT_SECONDS. Handing such writes to a thread instead made them
    collide with the next ones: each took the lock for its turn and pushed the following writes
    to the thread as well. PostgreSQL: in parallel from the thread pool."""
    if engine.dialect.name != "sqlite":

        def work() -> T:
            with session_scope(engine) as session:
                return fn(session, *args)

        return await to_thread.run_sync(work)
    writer = _loop_writer(engine)
    delay, deadline = _RETRY_FIRST, time.monotonic() + LOCK_TIMEOUT_SECONDS
    while True:
        ran, result = writer.run(fn, args)
        if ran:
            return result  # type: ignore[return-value]
        if time.monotonic() >= deadline:
            raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))
        await asyncio.sleep(delay)
        delay = min(delay * 2, _RETRY_MOST)


CHECKPOINT_EVERY = 500  # commits on the loop's thread between two WAL checkpoints in the background


class _LoopWriter:
    """Short SQLite write transactions run right on the event loop's thread while the write lock is free.

    A short write transaction holds the GIL for nearly all of its half millisecond anyway, so a hop
    to a thread adds the hand-off and the loop's contention for the GIL and saves nothing. The lock
    is tried without waiting (busy_timeout 0), so the loop never sleeps on a lock (in_transaction
    awaits and tries again). These connections never checkpoint the WAL themselves (a checkpoint
    syncs the disk): a background thread does, every CHECKPOINT_EVERY commits. Each loop thread
    keeps one connection and one session, reused transaction after transaction (opening them cost a
    sixth of an answer)."""

    def __init__(self, engine: Engine) -> None:
        self.nowait = create_engine(engine.url, connect_args={"check_same_thread": False, "timeout": 0},
                                    pool_size=1, max_overflow=4)
        _configure_sqlite(self.nowait, busy_timeout_ms=0, autocheckpoint=False)
        self.held: dict[int, tuple[Connection, Session]] = {}  # by thread
        self.commits = 0
        # (no reference back to `engine`: _loop_writers holds it weakly)
        event.listen(engine, "engine_disposed", lambda _engine: self.close())

    def _session(self) -> tuple[Connection, Session] | None:
        """This thread's connection and session, in a new write transaction; None if the lock is taken."""
        thread = threading.get_ident()
        pair = self.held.get(thread)
        if pair is None or pair[0].closed or pair[0].invalidated:
            connection = self.nowait.connect()
            pair = self.held[thread] = (connection, Session(bind=connection, join_transaction_mode="control_fully",
                                                            expire_on_commit=False))
        try:
            pair[0].begin()
        except OperationalError as exc:
            self._drop(thread)
            if "locked" in str(exc.orig) or "busy" in str(exc.orig):
                return None
            raise
        return pair

    def _drop(self, thread: int) -> None:
        connection, session = self.held.pop(thread)
        session.close()
        connection.close()

    def run(self, fn: Callable[..., T], args: tuple) -> tuple[bool, T | None]:
        """(True, fn(session, *args)) committed, or (False, None) if the write lock was taken."""
        pair = self._session()
        if pair is None:
            return False, None
        session = pair[1]
        try:
            result = fn(session, *args)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.expunge_all()
        self.commits += 1
        if self.commits % CHECKPOINT_EVERY == 0:
            _background_thread().submit(_checkpoint, self.nowait)  # PASSIVE: it never waits for a lock
        return True, result

    def close(self) -> None:
        for thread in list(self.held):
            self._drop(thread)
        self.nowait.dispose()


_loop_writers: weakref.WeakKeyDictionary[Engine, _LoopWriter] = weakref.WeakKeyDictionary()


def _loop_writer(engine: Engine) -> _LoopWriter:
    writer = _loop_writers.get(engine)
    if writer is None:
        with _engines_lock:
            writer = _loop_writers.get(engine) or _loop_writers.setdefault(engine, _LoopWriter(engine))
    return writer


def _checkpoint(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


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
