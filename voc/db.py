"""Engine, sessions, column types shared by all domains, and migrations."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import JSON, DateTime, Float, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Engine, make_url
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


class Sized:
    """Prepared statements for a number of rows or values (a batch's IN list, a multi-row INSERT):
    `build(n)` makes the statement for n, compiled the first time n is needed and kept."""

    def __init__(self, build: Callable[[int], Any]) -> None:
        self.build = build
        self._by_count: dict[int, Prepared] = {}

    def __call__(self, count: int) -> Prepared:
        prepared = self._by_count.get(count)
        if prepared is None:
            prepared = self._by_count[count] = Prepared(self.build(count))
        return prepared


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
        results = [_result_processor(c.type, dialect) for c in statement.exported_columns]
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


_FLOAT8 = 701  # PostgreSQL's type code for double precision, what a Float column is


def _result_processor(column_type: Any, dialect: Any) -> Callable[[Any], Any] | None:
    # PostgreSQL's numeric processors decide by the driver's type code of the column, known here from its type.
    code = _FLOAT8 if dialect.name == "postgresql" and isinstance(column_type, Float) else None
    return column_type.dialect_impl(dialect).result_processor(dialect, code)


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
    VOC_DB_MAX_OVERFLOW, VOC_DB_POOL_TIMEOUT_SECONDS) and SQLite's write lock
    (VOC_DB_LOCK_TIMEOUT_SECONDS); past them a request is answered 503 busy (see is_busy)."""
    settings = get_settings()
    pool = {"pool_size": settings.db_pool_size, "max_overflow": settings.db_max_overflow,
            "pool_timeout": settings.db_pool_timeout_seconds}
    if make_url(url).get_backend_name() == "sqlite":
        lock_timeout = settings.db_lock_timeout_seconds
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": lock_timeout}, **pool)
        _configure_sqlite(engine, busy_timeout_ms=int(lock_timeout * 1000))
        return engine
    return create_engine(url, pool_pre_ping=True, **pool)


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
    """The pool had no connection within its timeout, or SQLite's write lock stayed taken."""
    if isinstance(exc, PoolTimeout):
        return True
    if isinstance(exc, OperationalError) and getattr(exc.orig, "sqlstate", None) == "55P03":
        return True  # PostgreSQL's lock_timeout (lock_not_available)
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


def busy(exc: BaseException | None = None) -> Busy:
    """The 503 a request gets when the database is too busy to take it within the bounded wait."""
    return Busy("the database is busy; try again in a moment")


async def in_transaction(engine: Engine, fn: Callable[..., T], *args: Any) -> T:
    """Run `fn(session, *args)` in a transaction, never on the event loop; return its result once committed.

    SQLite: queued for the database's one writer thread (GroupWriter), which commits the writes that
    arrived together in one transaction. `fn` may run more than once (its transaction rolled back in
    between), so it must not act outside the database. PostgreSQL: on one of a fixed set of threads
    (PooledWriters), each with a pooled connection. A Batch (the answer path) goes to a GroupWriter on
    PostgreSQL too, which runs every caller queued together in one set of statements. Either waits at
    most VOC_DB_LOCK_TIMEOUT_SECONDS for its turn (and the pool's timeout for a connection), then raises
    Busy (503) having changed nothing. `fn` returns plain values, not ORM objects."""
    if isinstance(fn, Batch):
        return await batch_writer(engine).run(fn, args)
    threads = database_threads(engine)
    if isinstance(threads, GroupWriter):
        return await threads.run(fn, args)
    return await asyncio.wrap_future(threads.submit(fn, args))


class PooledWriters:
    """PostgreSQL's threads for request transactions: as many as the pool has connections, started once
    and kept (a thread started on demand holds the event loop while it starts, and a burst needs many)."""

    def __init__(self, engine: Engine) -> None:
        settings = get_settings()
        self.engine, self.timeout = engine, settings.db_lock_timeout_seconds
        size = max(1, settings.db_pool_size + settings.db_max_overflow)
        self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="voc-db")
        started = threading.Barrier(size + 1)
        for _ in range(size):  # every thread up now, while nothing waits for them
            self._pool.submit(started.wait, 10)
        started.wait(10)

    def submit(self, fn: Callable[..., T], args: tuple = ()) -> Future:
        """Queue `fn(session, *args)` in a transaction of its own; the future holds its result once committed."""
        deadline = time.monotonic() + self.timeout

        def work() -> T:
            if time.monotonic() > deadline:
                raise busy()
            try:
                with session_scope(self.engine) as session:
                    return fn(session, *args)
            except PoolTimeout as exc:
                raise busy(exc) from exc

        return self._pool.submit(work)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class Refused:
    """A Batch's outcome for a caller it refused (having changed nothing for it): the error to raise."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


class Batch:
    """A write that the database's writer runs for every caller queued together in one call:
    `many(session, [args, ...])` returns one outcome per caller, its result or a Refused (a refusal
    must leave nothing of that caller's behind, so the others' writes commit). One set of statements
    for the batch instead of one per caller: on PostgreSQL a round trip each. Called as a function,
    it runs for one caller and raises a refusal."""

    def __init__(self, many: Callable[..., list[Any]]) -> None:
        self.many = many

    def __call__(self, session: Session, *args: Any) -> Any:
        outcome = self.many(session, [args])[0]
        if isinstance(outcome, Refused):
            raise outcome.error
        return outcome


def _run_together(session: Session, writes: list[_Write]) -> list[Any]:
    """Each write's outcome in one transaction, the queued callers of one Batch in a single call."""
    results: list[Any] = []
    start = 0
    while start < len(writes):
        fn = writes[start].fn
        end = start + 1
        if isinstance(fn, Batch):
            while end < len(writes) and writes[end].fn is fn:
                end += 1
            results.extend(fn.many(session, [write.args for write in writes[start:end]]))
        else:
            results.append(fn(session, *writes[start].args))
        start = end
    return results


@dataclass
class _Write:
    """One queued write and where its outcome goes: a thread's Future, or a coroutine's waiter, resolved on
    its loop with the rest of its batch (one wake-up of the loop per batch, not per write)."""

    fn: Callable[..., Any]
    args: tuple
    deadline: float
    future: Future | None = None
    waiter: asyncio.Future | None = None

    def start(self) -> bool:
        """False when the caller has gone away (cancelled) before its turn: then it is not run."""
        if self.future is not None:
            return self.future.set_running_or_notify_cancel()
        return not self.waiter.cancelled()  # (read across threads: a late cancel is caught in _resolve)


def _resolve(outcomes: list[tuple[asyncio.Future, bool, Any]]) -> None:
    for waiter, ok, value in outcomes:
        if not waiter.done():
            waiter.set_result(value) if ok else waiter.set_exception(value)


_STOP = object()


class GroupWriter:
    """SQLite's single writer for requests (and PostgreSQL's for Batch writes): one thread, one
    connection, many answers per commit.

    SQLite lets one connection write at a time. Requests that write hand their transaction to this
    thread instead of each waiting for the lock on a thread (or, worse, on the event loop) of their
    own: the writes queued while the previous commit ran are taken together (up to MAX_BATCH), run
    one after the other in one transaction and committed at once (group commit); when one of them is
    refused (a 409, a 422), the batch is rolled back and each runs again alone, so a refusal takes
    back only its own changes (a Batch refuses a caller without raising, so the rest commit). The
    lock is taken once per batch; the loop only queues work, and is woken once per batch with every
    result. A write still queued when its deadline passes, or a batch that cannot get the lock in
    time (a `voc worker` or a backup holding it), fails with Busy having changed nothing."""

    MAX_BATCH = 64

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.timeout = get_settings().db_lock_timeout_seconds
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="voc-writer", daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., T], args: tuple = ()) -> Future:
        """Queue `fn(session, *args)`; the future holds its result once committed (or its exception)."""
        future: Future = Future()
        self._queue.put(_Write(fn, args, time.monotonic() + self.timeout, future=future))
        return future

    async def run(self, fn: Callable[..., T], args: tuple = ()) -> T:
        """Queue `fn(session, *args)` and wait, without holding the loop, for its result once committed."""
        waiter = asyncio.get_running_loop().create_future()
        self._queue.put(_Write(fn, args, time.monotonic() + self.timeout, waiter=waiter))
        return await waiter

    def close(self) -> None:
        """Finish what is queued, then stop the thread."""
        self._queue.put(_STOP)
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch, stop = [first], False
            while len(batch) < self.MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            try:
                outcomes = self._commit(batch)
            except BaseException as exc:  # never leave a request waiting, whatever happened
                outcomes = [(write, False, exc) for write in batch]
            self._deliver(outcomes)
            if stop:
                return

    @staticmethod
    def _deliver(outcomes: list[tuple[_Write, bool, Any]]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list] = {}
        for write, ok, value in outcomes:
            if write.future is not None:
                if not write.future.done():
                    write.future.set_result(value) if ok else write.future.set_exception(value)
            else:
                by_loop.setdefault(write.waiter.get_loop(), []).append((write.waiter, ok, value))
        for loop, resolved in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that loop has closed: nobody is waiting any more
                loop.call_soon_threadsafe(_resolve, resolved)

    def _commit(self, batch: list[_Write]) -> list[tuple[_Write, bool, Any]]:
        """Run the batch; returns each write's outcome: (write, True, result) or (write, False, exception)."""
        now = time.monotonic()
        writes, outcomes = [], []
        for write in batch:
            if not write.start():
                continue  # the request went away before its turn: nothing to do
            if now > write.deadline:
                outcomes.append((write, False, busy()))
            else:
                writes.append(write)
        if not writes:
            return outcomes
        # Optimistic: the whole batch in one transaction. If any write raises (a 409, a 422), the batch
        # is rolled back and each write runs again in a transaction of its own, so a refusal takes back
        # only its own changes. Refusals are rare; savepoints around every write cost more than reruns.
        try:
            results = self._transaction(lambda session: _run_together(session, writes))
        except Exception as exc:
            if len(writes) == 1 or is_busy(exc):
                failure = busy(exc) if is_busy(exc) else exc
                return outcomes + [(write, False, failure) for write in writes]
            for write in writes:
                try:
                    result = self._transaction(lambda session, write=write: write.fn(session, *write.args))
                except Exception as own:
                    outcomes.append((write, False, busy(own) if is_busy(own) else own))
                else:
                    outcomes.append((write, True, result))
            return outcomes
        return outcomes + [(write, not isinstance(result, Refused), result.error if isinstance(result, Refused)
                            else result) for write, result in zip(writes, results, strict=True)]

    def _transaction(self, work: Callable[[Session], T]) -> T:
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                session.connection()  # SQLite: BEGIN IMMEDIATE, waits up to the lock timeout (busy_timeout)
                result = work(session)
                session.commit()
                return result
            except BaseException:
                session.rollback()
                raise


_database_threads: dict[Engine, GroupWriter | PooledWriters] = {}  # until the engine is disposed


def database_threads(engine: Engine) -> GroupWriter | PooledWriters:
    """The threads that run this engine's request transactions (started on first use; `voc serve`
    starts them before it takes requests; stopped when the engine is disposed)."""
    threads = _database_threads.get(engine)
    if threads is None:
        with _engines_lock:
            threads = _database_threads.get(engine)
            if threads is None:
                kind = GroupWriter if engine.dialect.name == "sqlite" else PooledWriters
                threads = _database_threads[engine] = kind(engine)
                event.listen(engine, "engine_disposed", lambda _engine: _close_threads(_engine))
    return threads


_batch_writers: dict[Engine, GroupWriter] = {}  # PostgreSQL's, until the engine is disposed


def batch_writer(engine: Engine) -> GroupWriter:
    """The thread that runs this engine's Batch writes: SQLite's one writer, or on PostgreSQL a
    GroupWriter of its own beside the pooled threads (started on first use, or by `voc serve`)."""
    if engine.dialect.name == "sqlite":
        return group_writer(engine)
    writer = _batch_writers.get(engine)
    if writer is None:
        database_threads(engine)  # registers the engine's disposal, which stops this writer too
        with _engines_lock:
            writer = _batch_writers.get(engine)
            if writer is None:
                writer = _batch_writers[engine] = GroupWriter(_writer_engine(engine))
    return writer


def _writer_engine(engine: Engine) -> Engine:
    """PostgreSQL's batch writer's own connection: a row lock waits at most VOC_DB_LOCK_TIMEOUT_SECONDS
    (then 55P03, is_busy), set once when it connects rather than by a statement in every transaction."""
    settings = get_settings()
    lock_timeout_ms = max(1, int(settings.db_lock_timeout_seconds * 1000))
    return create_engine(engine.url, pool_pre_ping=True, pool_size=1, max_overflow=0,
                         pool_timeout=settings.db_pool_timeout_seconds,
                         connect_args={"options": f"-c lock_timeout={lock_timeout_ms}"})


def group_writer(engine: Engine) -> GroupWriter:
    """The writer thread of an SQLite engine."""
    writer = database_threads(engine)
    assert isinstance(writer, GroupWriter), "group commit is for SQLite"
    return writer


def _close_threads(engine: Engine) -> None:
    threads = _database_threads.pop(engine, None)
    if threads is not None:
        threads.close()
    writer = _batch_writers.pop(engine, None)
    if writer is not None:
        writer.close()
        writer.engine.dispose()


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
