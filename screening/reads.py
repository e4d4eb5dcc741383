"""One row read outside a transaction, at the driver's cost: what every patient page reads first.

On PostgreSQL the row is read on a pool of its own, whose connections are in autocommit from
the start, and the statement (compiled once) goes straight to psycopg. SQLAlchemy's execution
layer (a Connection, an execution context, a result object) and the switch of a shared pooled
connection to autocommit and back had cost more than the read itself, once the rest of a
request had run (README, Performance). What SQLAlchemy would have done around the driver is
kept: the pool, the statement's own result types, its exception types, and a connection the
server dropped taken out of the pool (the read is then run once more, on a new pool).

On any other database (SQLite), the row is read with SQLAlchemy Core in autocommit.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app

from .extensions import db

_ENGINE = "screening.reads"


def init_app(app: Flask) -> None:
    """On PostgreSQL, the pool of the reads: the application's engine settings in autocommit
    (no transaction to roll back when a connection is returned to the pool), disposed of with
    the application's engine."""
    main = db.engine
    if main.dialect.name != "postgresql":
        return
    options = {
        **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
        "isolation_level": "AUTOCOMMIT",
        "pool_reset_on_return": None,
    }
    engine = sa.create_engine(main.url, **options)
    sa.event.listen(main, "engine_disposed", lambda _engine: engine.dispose())
    app.extensions[_ENGINE] = engine


def one_row(statement: sa.Select, params: dict[str, Any]) -> tuple | None:
    """The first row of `statement` with `params`, its values typed as the statement's
    columns are (None when there is none). Database errors are SQLAlchemy's, so a database
    that is away gets the friendly page (screening.ops).

    A pooled connection is not checked before it is used (`ops.init_database` has the
    application's checked): a read is safe to run twice, so one that finds its connection
    closed by the server (a restart, an administrator) is run once more, on a new pool, since
    the old pool's other connections are as old."""
    engine = current_app.extensions.get(_ENGINE)
    if engine is None:
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            return conn.execute(statement, params).one_or_none()
    sql, processors = _compiled(statement, engine.dialect)
    try:
        row = _read(engine, sql, params)
    except sa.exc.DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        engine.dispose()
        row = _read(engine, sql, params)
    if row is None:
        return None
    return tuple(value if p is None else p(value) for p, value in zip(processors, row, strict=True))


def _read(engine: sa.Engine, sql: str, params: dict[str, Any]) -> tuple | None:
    """The first row as the driver gives it; a driver's error as SQLAlchemy's, with
    `connection_invalidated` when the server had closed the connection (which is then not
    put back into the pool)."""
    error = engine.dialect.loaded_dbapi.Error
    try:
        pooled = engine.raw_connection()
    except error as exc:
        raise _wrapped(engine, sql, exc, closed=False) from exc
    try:
        return pooled.driver_connection.execute(sql, params).fetchone()
    except error as exc:
        closed = engine.dialect.is_disconnect(exc, pooled.driver_connection, None)
        if closed:
            pooled.invalidate(exc)
        raise _wrapped(engine, sql, exc, closed) from exc
    finally:
        pooled.close()


def _wrapped(engine: sa.Engine, sql: str, exc: Exception, closed: bool) -> sa.exc.DBAPIError:
    return sa.exc.DBAPIError.instance(
        sql, None, exc, engine.dialect.loaded_dbapi.Error, hide_parameters=True,
        connection_invalidated=closed, dialect=engine.dialect,
    )


@lru_cache(maxsize=8)
def _compiled(statement: sa.Select, dialect: sa.Dialect) -> tuple[str, tuple]:
    """`statement` as SQL for `dialect` (named parameters), and each column's result
    processor (None where the driver's value is the column's)."""
    processors = tuple(
        column.type.dialect_impl(dialect).result_processor(dialect, None)
        for column in statement.selected_columns
    )
    return str(statement.compile(dialect=dialect)), processors
