"""voc.db: prebuilt statements run on the driver, and transactions that never block the event loop."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import (
    Column,
    Date,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

import voc.db
from tests.aio import run_async
from voc.config import get_settings
from voc.db import JSONType, Prepared, Refused, UTCDateTime, in_transaction, job_writer, utcnow
from voc.errors import Busy, Conflict
from voc.jobs.models import Job
from voc.surveys.models import Touchpoint

metadata = MetaData()
things = Table(
    "prepared_thing", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(40), nullable=False),
    Column("payload", JSONType),
    Column("day", Date),
    Column("at", UTCDateTime(timezone=True)),
    Column("tries", Integer, nullable=False, default=3),
    Column("stamp", String(40), default=lambda: "computed"),
    Column("score", Float),
)
ROW = {"name": "ünïcode", "payload": {"nested": [1, "two", None], "ok": True}, "day": date(2026, 2, 28),
       "at": datetime(2026, 11, 26, 9, 30, 15, 123456, tzinfo=UTC), "tries": 5, "stamp": "s",
       "score": 0.1 + 0.2}


@pytest.fixture
def table(engine: Engine):
    metadata.create_all(engine)
    yield things
    metadata.drop_all(engine)


def test_prepared_statements_read_and_write_what_core_does(engine, table):
    insert_returning = Prepared(insert(table).returning(table.c.id))
    select_one = Prepared(select(table).where(table.c.id == bindparam("id")))
    with engine.begin() as connection:
        [new_id] = insert_returning.first(connection, ROW)
        core = connection.execute(select(table).where(table.c.id == new_id)).one()
        assert tuple(core) == (new_id, *ROW.values())
        assert select_one.first(connection, {"id": new_id}) == tuple(core)  # JSON, dates, UTC times, floats alike
        assert select_one.first(connection, {"id": new_id + 1}) is None


def test_prepared_update_counts_rows_and_runs_many(engine, table):
    insert_many = Prepared(insert(table))
    rename = Prepared(update(table).where(table.c.tries >= bindparam("least")).values(name=bindparam("to")))
    with engine.begin() as connection:
        assert insert_many.run(connection, [{**ROW, "tries": n} for n in range(4)]) in (4, -1)
        assert rename.run(connection, {"least": 2, "to": "renamed"}) == 2
        assert Prepared(select(table.c.name).order_by(table.c.tries)).all(connection, {}) == [
            ("ünïcode",), ("ünïcode",), ("renamed",), ("renamed",)]


def test_prepared_takes_fixed_column_defaults_and_refuses_computed_ones(engine, table):
    with engine.begin() as connection:
        [new_id] = Prepared(insert(table).returning(table.c.id)).first(connection, {"name": "x", "stamp": "s"})
        assert connection.execute(select(table.c.tries).where(table.c.id == new_id)).scalar_one() == 3
        with pytest.raises(ValueError, match="computed default"):
            Prepared(insert(table)).run(connection, {"name": "no stamp"})


def test_a_missing_parameter_is_an_error_not_a_null(engine, table):
    with engine.begin() as connection, pytest.raises(KeyError, match="'id'"):
        Prepared(select(table).where(table.c.id == bindparam("id"))).first(connection, {})


def _add_touchpoint(session, key: str) -> int:
    touchpoint = Touchpoint(key=key, name=key, stage="usage")
    session.add(touchpoint)
    session.flush()
    return touchpoint.id


def _keys(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(select(Touchpoint.key).order_by(Touchpoint.key)).scalars())


def test_in_transaction_commits_the_work_or_nothing_of_it(engine):
    async def scenario() -> None:
        assert isinstance(await in_transaction(engine, _add_touchpoint, "kept"), int)

        def half_done(session, key):
            _add_touchpoint(session, key)
            raise RuntimeError("then it failed")

        with pytest.raises(RuntimeError):
            await in_transaction(engine, half_done, "dropped")
        await in_transaction(engine, _add_touchpoint, "after")  # the failure left nothing behind

    run_async(scenario())
    assert _keys(engine) == ["after", "kept"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_write_waiting_for_the_sqlite_lock_does_not_hold_up_the_event_loop(engine):
    """Another connection (a worker, a second process) holds the write lock: the write waits for it
    on the writer thread, while the loop goes on serving; it is stored once the lock frees."""
    holder = create_engine(engine.url)
    voc.db._configure_sqlite(holder)

    async def scenario() -> None:
        with holder.connect() as connection:
            connection.begin()  # BEGIN IMMEDIATE: the write lock
            write = asyncio.create_task(in_transaction(engine, _add_touchpoint, "late"))
            started = time.monotonic()
            for _ in range(20):
                await asyncio.sleep(0.01)
            # Twenty 10 ms sleeps took about 200 ms: nothing held the loop while the write waited.
            assert time.monotonic() - started < 1.5 and not write.done()
            connection.commit()
        assert isinstance(await write, int)

    try:
        run_async(scenario())
    finally:
        holder.dispose()
    assert _keys(engine) == ["late"]


def _together(engine, calls: list, writer=None) -> list:
    """Queue `calls` (fn, key) while the writer is held up, so they arrive together; their results."""

    async def scenario() -> list:
        gate, entered = threading.Event(), threading.Event()
        (writer or voc.db.group_writer(engine)).submit(lambda session: entered.set() or gate.wait(5))
        assert await asyncio.to_thread(entered.wait, 5)
        tasks = [asyncio.ensure_future(writer.run(fn, (key,)) if writer else in_transaction(engine, fn, key))
                 for fn, key in calls]
        await asyncio.sleep(0.05)
        gate.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    return run_async(scenario())


def _refused(session, key):
    _add_touchpoint(session, key)
    raise Conflict("no", code="refused")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_writes_that_arrive_together_commit_in_one_transaction(engine):
    commits = []
    event.listen(engine, "commit", lambda connection: commits.append(1))
    results = _together(engine, [(_add_touchpoint, f"t{n}") for n in range(8)])
    assert all(isinstance(r, int) for r in results) and _keys(engine) == [f"t{n}" for n in range(8)]
    assert len(commits) == 2  # the gate's transaction, then the eight writes in one


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_refused_write_among_others_takes_back_only_its_own_changes(engine):
    results = _together(engine, [(_refused if n == 3 else _add_touchpoint, f"t{n}") for n in range(8)])
    assert isinstance(results[3], Conflict) and all(isinstance(r, int) for i, r in enumerate(results) if i != 3)
    assert _keys(engine) == [f"t{n}" for n in range(8) if n != 3]


class _Keys:
    """A Batch's `many` for the tests: adds a touchpoint per caller, refuses keys starting "bad"."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, session, calls: list[tuple]) -> list:
        self.calls.append(len(calls))
        return [Refused(Conflict("no", code="refused")) if key.startswith("bad") else _add_touchpoint(session, key)
                for (key,) in calls]


def test_a_batch_runs_once_for_everyone_queued_and_refuses_only_its_own(engine):
    keys = _Keys()
    batch = voc.db.Batch(keys)
    names = ["t0", "t1", "bad2", "t3", "t4", "bad5", "t6", "t7"]
    results = _together(engine, [(batch, name) for name in names], job_writer(engine))
    assert keys.calls == [8]  # one call, one set of statements, for the eight callers
    assert [type(r).__name__ for r in results] == ["int", "int", "Conflict", "int", "int", "Conflict", "int", "int"]
    assert _keys(engine) == sorted(n for n in names if not n.startswith("bad"))


def test_a_batch_beside_a_failing_write_runs_again_caller_by_caller(engine):
    keys = _Keys()
    batch = voc.db.Batch(keys)

    def broken(session, key):
        _add_touchpoint(session, key)
        raise RuntimeError("failed")

    results = _together(engine, [(batch, "t0"), (batch, "bad1"), (broken, "gone"), (batch, "t3")],
                        job_writer(engine))
    assert [type(r).__name__ for r in results] == ["int", "Conflict", "RuntimeError", "int"]
    assert keys.calls == [2, 1, 1, 1]  # together, then (rolled back) each alone
    assert _keys(engine) == ["t0", "t3"]


def test_a_batch_of_several_statements_runs_in_a_transaction_of_its_own(engine):
    """PostgreSQL's batch writer runs in autocommit, for single-statement Batches only: a Batch whose calls
    make several changes runs in a transaction, so a failure after the first leaves nothing behind."""

    def half(session, calls):
        _add_touchpoint(session, "first")
        raise RuntimeError("the second change failed")

    with pytest.raises(RuntimeError):
        run_async(in_transaction(engine, voc.db.Batch(half), "x"))
    assert _keys(engine) == []


@pytest.mark.parametrize("database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_a_batch_waiting_for_a_postgres_row_lock_is_busy_within_the_lock_timeout(engine, monkeypatch):
    """Another transaction holds a row the batch must change (an answer racing a worker's update): the batch
    gives up after VOC_DB_LOCK_TIMEOUT_SECONDS with Busy (503), having changed nothing, never waiting on."""
    monkeypatch.setenv("VOC_DB_LOCK_TIMEOUT_SECONDS", "0.3")
    get_settings.cache_clear()
    engine = voc.db.make_engine(str(engine.url.render_as_string(hide_password=False)))
    with engine.begin() as connection:
        connection.execute(insert(Touchpoint.__table__).values(key="held", name="held", stage="usage"))

    def rename(session, calls):
        session.execute(update(Touchpoint.__table__).where(Touchpoint.__table__.c.key == "held").values(name="new"))
        return [key for (key,) in calls]

    try:
        with engine.connect() as holder:
            holder.execute(update(Touchpoint.__table__).values(name="holder"))  # the row lock, until rollback
            started = time.monotonic()
            with pytest.raises(Busy):
                run_async(in_transaction(engine, voc.db.Batch(rename, single_statement=True), "x"))
            assert time.monotonic() - started < 3
            holder.rollback()
        assert run_async(in_transaction(engine, voc.db.Batch(rename, single_statement=True), "y")) == "y"  # free again
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_write_that_never_gets_the_lock_is_busy_and_stores_nothing(engine, monkeypatch):
    monkeypatch.setenv("VOC_DB_LOCK_TIMEOUT_SECONDS", "0.2")
    get_settings.cache_clear()
    engine = voc.db.make_engine(str(engine.url))
    holder = create_engine(engine.url)
    voc.db._configure_sqlite(holder)
    try:
        with holder.connect() as connection:
            connection.begin()
            started = time.monotonic()
            with pytest.raises(Busy):
                run_async(in_transaction(engine, _add_touchpoint, "never"))
            assert time.monotonic() - started < 2  # bounded by the setting, not 30 s
            connection.rollback()
    finally:
        holder.dispose()
        engine.dispose()
    assert _keys(engine) == []


def test_a_full_pool_answers_busy_within_its_timeout(engine, monkeypatch):
    monkeypatch.setenv("VOC_DB_POOL_SIZE", "1")
    monkeypatch.setenv("VOC_DB_MAX_OVERFLOW", "0")
    monkeypatch.setenv("VOC_DB_POOL_TIMEOUT_SECONDS", "0.2")
    get_settings.cache_clear()
    small = voc.db.make_engine(str(engine.url))
    try:
        with small.connect():  # the only connection, taken
            started = time.monotonic()
            with pytest.raises(Exception) as caught, small.connect():  # noqa: PT011 - the pool's own error
                pass
            assert voc.db.is_busy(caught.value) and time.monotonic() - started < 2
    finally:
        small.dispose()


def test_enqueue_through_prepared_statement_keeps_job_fields(engine):
    from sqlmodel import Session

    from voc.jobs.queue import enqueue

    with Session(engine) as session:
        job_id = enqueue(session, "test.kind", {"a": [1, "é"]}, max_attempts=2)
        session.commit()
        job = session.get(Job, job_id)
        assert (job.kind, job.payload, job.status, job.attempts, job.max_attempts) == (
            "test.kind", {"a": [1, "é"]}, "queued", 0, 2)
        assert abs((job.run_at - utcnow()).total_seconds()) < 60 and job.run_at.tzinfo is not None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_reading_session_cannot_write_and_leaves_its_connection_writable(engine):
    from sqlmodel import Session

    from voc.db import reading, session_scope

    with Session(reading(engine)) as session:
        session.add(Touchpoint(key="sneaky", name="x", stage="usage"))
        with pytest.raises(OperationalError, match="readonly"):
            session.flush()
    with session_scope(engine) as session:  # the same pooled connection, writable again
        _add_touchpoint(session, "fine")
    assert _keys(engine) == ["fine"]


def test_canary_sqlalchemys_compiler_still_gives_prepared_what_it_reads():
    """voc.db.Prepared relies on these compiler details; an SQLAlchemy upgrade that changes them fails here,
    loudly and by name, before any answer is stored wrongly."""
    from sqlalchemy.dialects import postgresql, sqlite

    statement = insert(things).returning(things.c.id)
    for dialect in (sqlite.dialect(), postgresql.psycopg.dialect()):
        compiled = statement.compile(dialect=dialect, column_keys=["name"])
        for attribute in ("binds", "bind_names", "positional", "literal_execute_params", "post_compile_params",
                          "escaped_bind_names", "insert_prefetch", "string"):
            assert hasattr(compiled, attribute), f"SQLAlchemy's compiler no longer has {attribute!r}"
        assert {c.key for c in compiled.insert_prefetch} == {"tries", "stamp"}  # defaults of unnamed columns
        if compiled.positional:
            assert list(compiled.positiontup) == [n for n in compiled.positiontup if n in compiled.binds]


def test_sqlite_writers_of_one_process_take_turns_and_every_ending_passes_the_turn_on(tmp_path, monkeypatch):
    """Writers queue on the process's own turn (no busy-handler sleeps); a commit, a rollback and a closed
    connection each pass it on, and a writer that waits past the lock timeout is told the database is busy."""
    import threading

    from sqlalchemy import event, text
    from sqlalchemy.exc import OperationalError

    from voc.config import get_settings
    from voc.db import make_engine

    monkeypatch.setenv("VOC_DB_LOCK_TIMEOUT_SECONDS", "0.5")
    get_settings.cache_clear()
    try:
        engine = make_engine(f"sqlite:///{tmp_path / 'turns.db'}")
    finally:
        get_settings.cache_clear()
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))

    # A rollback (an error inside the transaction) passes the turn on.
    with pytest.raises(RuntimeError), engine.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("the handler failed")
    # So does a connection closed (invalidated) while it held the turn.
    connection = engine.connect()
    connection.begin()
    connection.execute(text("INSERT INTO t VALUES (2)"))
    connection.invalidate()
    connection.close()

    # While one writer holds the turn, another waits for it, and is refused once the lock timeout passes.
    holding, release, order = threading.Event(), threading.Event(), []

    def first() -> None:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (3)"))
            holding.set()
            release.wait(10)
            order.append("first committed")

    thread = threading.Thread(target=first)
    thread.start()
    assert holding.wait(10)
    begun: list[str] = []  # BEGINs that reached SQLite on this thread

    @event.listens_for(engine, "connect")
    def _trace(dbapi_connection, _record):  # noqa: ANN001
        dbapi_connection.set_trace_callback(
            lambda sql: begun.append(sql) if sql.startswith("BEGIN") and threading.current_thread() is main else None)

    main = threading.current_thread()
    engine.pool.dispose()  # new connections, traced
    with pytest.raises(OperationalError, match="database is locked"), engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (4)"))  # waits 0.5 s for the turn, then is refused
    assert begun == []  # it waited on the process's turn, never in SQLite's busy handler
    release.set()
    thread.join(10)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (5)"))
        order.append("second began")
    assert order == ["first committed", "second began"]
    with engine.connect() as conn:
        assert [n for (n,) in conn.execute(text("SELECT n FROM t ORDER BY n"))] == [3, 5]
    engine.dispose()


def test_every_worker_of_a_process_commits_its_jobs_results_through_one_writer_that_stops_with_its_engine(engine):
    """Workers made and dropped (tests, `voc demo`, `voc serve --workers`) leave no writer thread behind: one
    per engine (SQLite's is the requests' own), stopped when the engine is disposed."""
    from voc.jobs.worker import Worker

    engine = voc.db.make_engine(str(engine.url.render_as_string(hide_password=False)))
    try:
        writers = {id(Worker(engine).settler()) for _ in range(3)}
        writer = voc.db.job_writer(engine)
        assert writers == {id(writer)}
        if engine.dialect.name == "sqlite":
            assert writer is voc.db.group_writer(engine)
        assert writer.submit(lambda session: "committed").result(10) == "committed"
    finally:
        engine.dispose()
    writer._thread.join(10)
    assert not writer._thread.is_alive()
