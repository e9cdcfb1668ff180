"""Statements compiled once and run on the driver: the few that every answer, job and delivery runs."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import psycopg
from sqlalchemy import Float
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


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
            plan = self._plans[(dialect.name, keys)] = _Plan(self.statement_for(dialect.name), dialect, keys)
        return plan

    def statement_for(self, dialect_name: str) -> Any:
        """The statement as `dialect_name` runs it (the same one for every dialect, unless a subclass says)."""
        return self.statement

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


class InsertOnce(Prepared):
    """INSERT … ON CONFLICT (`keys`) DO NOTHING RETURNING `returning`, on PostgreSQL and SQLite alike: where a
    row with the same keys exists (stored earlier in this transaction, or by a twin that committed first,
    whose insert a concurrent one waits for) nothing is inserted and first() returns None. No error spoils the
    transaction (no savepoint needed), and no SELECT beforehand reads the table."""

    def __init__(self, table: Any, keys: list[Any], *returning: Any) -> None:
        self.keys, self.returning = keys, returning
        super().__init__(table.insert().returning(*returning))

    def statement_for(self, dialect_name: str) -> Any:
        dialect = postgresql if dialect_name == "postgresql" else sqlite
        return (dialect.insert(self.statement.table).on_conflict_do_nothing(index_elements=self.keys)
                .returning(*self.returning))


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
    if connection.dialect.name == "postgresql":
        return psycopg.RawCursor(connection.connection.dbapi_connection)
    return connection.connection.cursor()


def _placeholders(dialect: Any) -> Any:
    """The dialect to compile with: on PostgreSQL the same one writing $1, $2 … placeholders, which psycopg's
    RawCursor sends as they are. psycopg's own cursor rewrites %(name)s into them at every call, and does not
    keep the rewriting of a statement with more than 50 parameters (a batch's multi-row INSERT): a quarter of
    the batch writer's time went there."""
    if dialect.name != "postgresql":
        return dialect
    numeric = getattr(dialect, "_voc_numeric_dollar", None)  # kept on the dialect: made once, gone with it
    if numeric is None:
        numeric = copy.copy(dialect)
        numeric.paramstyle, numeric.positional = "numeric_dollar", True
        dialect._voc_numeric_dollar = numeric
    return numeric


class _Plan:
    """One dialect's SQL text, parameter order and type processors for a Prepared statement."""

    def __init__(self, statement: Any, dialect: Any, keys: tuple[str, ...]) -> None:
        compiled = statement.compile(dialect=_placeholders(dialect), column_keys=list(keys) if keys else None)
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
