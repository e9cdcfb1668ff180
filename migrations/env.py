"""Alembic environment: voc's models are the target; SQLite gets batch mode for ALTERs."""

from __future__ import annotations

from alembic import context

from voc.db import make_engine
from voc.models import metadata

config = context.config


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


def _run(connection) -> None:  # noqa: ANN001
    sqlite = connection.dialect.name == "sqlite"
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=sqlite, compare_type=True)
    if not sqlite:
        with context.begin_transaction():
            context.run_migrations()
        return
    # SQLite changes a table by rebuilding it (batch mode): a new table is filled from the old one, which is
    # dropped. Dropping a table deletes its rows first, and with foreign keys enforced that deletes the rows
    # referring to them (answers, follow-ups: ON DELETE CASCADE). SQLite's own recipe for schema changes:
    # enforcement off outside the transaction, a foreign_key_check before it commits, then on again.
    driver = connection.connection.driver_connection
    driver.execute("PRAGMA foreign_keys=OFF")
    if driver.execute("PRAGMA foreign_keys").fetchone()[0]:  # a no-op inside a transaction: never rebuild then
        raise RuntimeError("migrations need an SQLite connection with no transaction open")
    try:
        with context.begin_transaction():
            context.run_migrations()
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"the migration left rows referring to rows that do not exist: {broken[:5]}")
    finally:
        driver.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
