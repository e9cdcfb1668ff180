"""Where request transactions run, never on the event loop: SQLite's one writer (group commit), PostgreSQL's
pooled threads, and the batch writer that stores answers queued together with one set of statements."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, create_engine

from voc.batches import BatchThread, Call, Outcome
from voc.config import get_settings
from voc.db.engine import busy, is_busy, postgres_lock_timeout, session_scope

T = TypeVar("T")

_threads_lock = threading.Lock()  # starting an engine's threads once


async def in_transaction(engine: Engine, fn: Callable[..., T], *args: Any) -> T:
    """Run `fn(session, *args)` in a transaction, never on the event loop; return its result once committed.

    SQLite: queued for the database's one writer thread (GroupWriter), which commits the writes that
    arrived together in one transaction. `fn` may run more than once (its transaction rolled back in
    between), so it must not act outside the database. PostgreSQL: on one of a fixed set of threads
    (PooledWriters), each with a pooled connection. A single-statement Batch (the answer path) goes to a
    GroupWriter on PostgreSQL too, which runs every caller queued together in one statement. Either waits at
    most VOC_DB_LOCK_TIMEOUT_SECONDS for its turn (and the pool's timeout for a connection), then raises
    Busy (503) having changed nothing. `fn` returns plain values, not ORM objects."""
    threads = database_threads(engine)
    if isinstance(threads, GroupWriter):
        return await threads.run(fn, args)
    if isinstance(fn, Batch) and fn.single_statement:
        return await batch_writer(engine).run(fn, args)
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
            except Exception as exc:
                if is_busy(exc):  # no connection in time, or a row lock held past VOC_DB_LOCK_TIMEOUT_SECONDS
                    raise busy(exc) from exc
                raise

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
    it runs for one caller and raises a refusal.

    `single_statement`: on PostgreSQL, a call's changes are one statement (what it reads before may be
    older: the statement itself re-checks what matters), so PostgreSQL's batch writer runs it without a
    transaction of its own (autocommit: no BEGIN and COMMIT round trips). Other Batches run there on the
    request threads, in a transaction."""

    def __init__(self, many: Callable[..., list[Any]], *, single_statement: bool = False) -> None:
        self.many = many
        self.single_statement = single_statement

    def __call__(self, session: Session, *args: Any) -> Any:
        outcome = self.many(session, [args])[0]
        if isinstance(outcome, Refused):
            raise outcome.error
        return outcome


def _run_together(session: Session, writes: list[Call]) -> list[Any]:
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


class GroupWriter(BatchThread):
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
    time (a `voc worker` or a backup holding it), fails with Busy having changed nothing. The writers of
    requests' writes gather (voc.batches): with other requests about, a batch waits up to a millisecond
    for their writes."""

    def __init__(self, engine: Engine, *, gather: bool = False) -> None:
        self.engine = engine
        super().__init__("voc-writer", get_settings().db_lock_timeout_seconds, gather=gather)

    def handle(self, batch: list[Call]) -> list[Outcome]:
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
        try:
            return self._once(work)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        # The connection was gone (PostgreSQL restarted or failed over; the pool has dropped it): once more
        # on a new one, rather than a ping before every batch. Lost during COMMIT, the first try may have
        # committed: its claim then refuses the second (409 already_answered), nothing is stored twice.
        return self._once(work)

    def _once(self, work: Callable[[Session], T]) -> T:
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
        with _threads_lock:
            threads = _database_threads.get(engine)
            if threads is None:
                # SQLite's one writer commits the requests' writes: it gathers those arriving close together.
                sqlite = engine.dialect.name == "sqlite"
                threads = GroupWriter(engine, gather=True) if sqlite else PooledWriters(engine)
                _database_threads[engine] = threads
                event.listen(engine, "engine_disposed", lambda _engine: _close_threads(_engine))
    return threads


_batch_writers: dict[Engine, GroupWriter] = {}  # PostgreSQL's, until the engine is disposed
_job_writers: dict[Engine, GroupWriter] = {}  # PostgreSQL's, until the engine is disposed


def batch_writer(engine: Engine) -> GroupWriter:
    """The thread that runs this engine's single-statement Batch writes: SQLite's one writer, or on PostgreSQL
    a GroupWriter of its own beside the pooled threads, in autocommit (started on first use, or by `voc serve`)."""
    return _writer_of(engine, _batch_writers, lambda: _writer_engine(engine), gather=True)


def job_writer(engine: Engine) -> GroupWriter:
    """The thread that commits the results of workers' jobs that end together (voc.jobs.queue.Stages): on
    SQLite the database's one writer (in voc serve the requests' own, so a worker never waits on it for the
    write lock), on PostgreSQL one per engine beside the request threads, on the engine's own pool."""
    return _writer_of(engine, _job_writers, lambda: engine)


def _writer_of(engine: Engine, writers: dict[Engine, GroupWriter], connect: Callable[[], Engine],
               *, gather: bool = False) -> GroupWriter:
    """SQLite's one writer, or the PostgreSQL GroupWriter kept in `writers` for this engine (started on first
    use on the engine `connect` gives, stopped when `engine` is disposed)."""
    if engine.dialect.name == "sqlite":
        return group_writer(engine)
    writer = writers.get(engine)
    if writer is None:
        database_threads(engine)  # registers the engine's disposal, which stops this writer too
        with _threads_lock:
            writer = writers.get(engine)
            if writer is None:
                writer = writers[engine] = GroupWriter(connect(), gather=gather)
    return writer


def _writer_engine(engine: Engine) -> Engine:
    """PostgreSQL's batch writer's own connection, in autocommit: it runs single-statement Batches only (see
    Batch). A row lock waits at most VOC_DB_LOCK_TIMEOUT_SECONDS (then 55P03, is_busy), set once when it
    connects rather than by a statement in every transaction. No ping before each batch (a round trip): a
    lost connection is retried once (GroupWriter._transaction)."""
    return create_engine(engine.url, isolation_level="AUTOCOMMIT", pool_pre_ping=False, pool_size=1, max_overflow=0,
                         pool_timeout=get_settings().db_pool_timeout_seconds, connect_args=postgres_lock_timeout())


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
    writer = _job_writers.pop(engine, None)
    if writer is not None:
        writer.close()
