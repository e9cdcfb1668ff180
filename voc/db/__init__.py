"""The database layer: engines and sessions (engine), prepared statements (prepared), and the threads that
run request transactions off the event loop (writers). Everything is imported from here."""

from voc.db.engine import (
    JSONType,
    UTCDateTime,
    WriteTurn,
    _configure_sqlite,
    alembic_config,
    busy,
    deferred,
    dispose_engines,
    get_engine,
    holds_shared_rows,
    is_busy,
    make_engine,
    migrate,
    reading,
    session_scope,
    shared_rows_at_commit,
    utcnow,
)
from voc.db.prepared import InsertOnce, Prepared, Sized
from voc.db.writers import (
    Batch,
    GroupWriter,
    PooledWriters,
    Refused,
    batch_writer,
    database_threads,
    group_writer,
    in_transaction,
    job_writer,
)

__all__ = ["Batch", "GroupWriter", "InsertOnce", "JSONType", "PooledWriters", "Prepared", "Refused", "Sized",
           "UTCDateTime", "WriteTurn", "_configure_sqlite", "alembic_config", "batch_writer", "busy",
           "database_threads", "deferred", "dispose_engines", "get_engine", "group_writer", "in_transaction",
           "is_busy", "job_writer", "make_engine", "migrate", "reading", "session_scope", "holds_shared_rows",
           "shared_rows_at_commit", "utcnow"]
