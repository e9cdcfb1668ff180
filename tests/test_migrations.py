"""The migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from voc.models import metadata


def test_migrated_schema_matches_the_models(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())


def test_sqlite_runs_in_wal_mode_with_foreign_keys(engine):
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_a_table_rebuilt_by_a_migration_keeps_the_rows_that_refer_to_it(database_url, engine):
    """0021 changes the response table, which SQLite does by rebuilding it: every answer (ON DELETE CASCADE)
    and follow-up that refers to a response is still there afterwards, on every backend, and SQLite enforces
    foreign keys again."""
    from alembic import command
    from sqlalchemy import func, select
    from sqlmodel import Session

    from tests.followups.helpers import make_case
    from voc.db import alembic_config, migrate
    from voc.followups.models import Followup
    from voc.surveys.models import Answer, Response

    with Session(engine) as session:
        make_case(session, "c1", nps=2, text="Late and broken")
        session.commit()

    def counts() -> tuple[int, int, int]:
        with Session(engine) as session:
            return tuple(session.scalar(select(func.count()).select_from(model)) for model in (Response, Answer,
                                                                                                Followup))

    before = counts()
    assert before == (1, 2, 1)
    command.downgrade(alembic_config(database_url), "0020")
    migrate(database_url)
    assert counts() == before
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
