"""Engines for SQLite (embedded default, WAL) and PostgreSQL (scale-out)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

WRITE = {"lockstep_write": True}
# PostgreSQL reads run in autocommit (unit_of_work.py): under READ COMMITTED (the default) every statement
# takes its own snapshot whether or not a transaction encloses it, so a BEGIN and a ROLLBACK only cost two
# round trips.
# A pooled PostgreSQL connection idle this long is pinged before it is handed out (a server restart or an
# idle timeout may have closed it); one in steady use is not: a ping per checkout was a round trip per
# request, a quarter of a group show's database time.
PING_IDLE_SECONDS = 2.0


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=NullPool if ":memory:" in url else None,
        )
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url, pool_size=pool_size, max_overflow=20)
    _ping_idle_connections(engine)
    return engine


def _ping_idle_connections(engine: Engine) -> None:
    """`pool_pre_ping`, for connections that sat idle in the pool for PING_IDLE_SECONDS or more."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["lockstep_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("lockstep_idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_IDLE_SECONDS:
            return  # a new connection, or one used a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            if not engine.dialect.is_disconnect(error, dbapi_connection, None):
                raise
            alive = False
        if not alive:
            # The pool discards this connection and checks out (or opens) another.
            raise exc.DisconnectionError("the pooled connection was closed by the server")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so that BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A writing transaction takes the write lock up front: a deferred one that reads first
        # and writes later fails at once with "database is locked" when another writer got in.
        if conn.get_execution_options().get("lockstep_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
