"""Transactions on raw ``sqlite3`` connections: pragmas, one write, consistent reads.

These run on whatever thread holds the connection: the event loop's own connection, or an
aiosqlite connection's thread (handed over whole through ``PrivateApi``).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.sql import ClauseElement

from smithers.store.db import Guard, Params, Prepared, Row, guard_statements
from smithers.store.private_api import PrivateApi

__all__ = [
    "BUSY_TIMEOUT_S",
    "CHECKPOINT_EVERY",
    "configure_sqlite",
    "is_busy",
    "run_reads",
    "run_write",
    "sqlite_rows",
    "sqlite_sync_engine",
]

CHECKPOINT_EVERY = 100
"""Write transactions on the event loop's connection between two WAL checkpoints (SQLite's
own automatic checkpoint, after 1,000 WAL pages, is off on that connection)."""

BUSY_TIMEOUT_S = 5.0
SQLITE_PRAGMAS = ("PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON")


def configure_sqlite(
    raw: sqlite3.Connection, *extra: str, busy_timeout_s: float = BUSY_TIMEOUT_S
) -> None:
    """Busy timeout, WAL and the other pragmas on a new connection, then ``extra``.

    Switching a fresh file to WAL needs an exclusive lock, and SQLite can answer busy at once
    there, without calling the busy handler (another connection is mid-transaction on the
    same new file), so the switch is retried until the busy timeout has passed. With a
    timeout of 0 (a connection on the event loop) the caller gets the busy error at once.
    """
    raw.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
    deadline = time.monotonic() + busy_timeout_s
    while True:
        try:
            raw.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            if not (is_busy(exc) and time.monotonic() < deadline):
                raise
            time.sleep(0.005)
    for pragma in (*SQLITE_PRAGMAS, *extra):
        raw.execute(pragma)


def is_busy(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


def run_write(
    raw: sqlite3.Connection,
    guard: Guard,
    params: Params,
    build: Callable[[Row | None], list[Prepared]],
    *,
    busy_ok: bool = False,
) -> bool:
    """One write transaction; with ``busy_ok``, False when another writer holds the lock
    (nothing was done: BEGIN IMMEDIATE takes the lock before any statement)."""
    try:
        raw.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if busy_ok and is_busy(exc):
            return False
        raise
    try:
        merged: Row | None = None
        for index, stmt in enumerate(guard_statements(guard)):
            sql, bound = PrivateApi.sql(stmt, params)
            cursor = raw.execute(sql, bound)
            rows = sqlite_rows(cursor.description, cursor.fetchall())
            if not rows and index == 0:
                break
            merged = {**(merged or {}), **(rows[0] if rows else {})}
        for prepared in build(merged):
            if prepared.many:
                raw.executemany(prepared.statement, prepared.rows)
            else:
                raw.execute(prepared.statement, prepared.rows[0])
    except BaseException:
        raw.execute("ROLLBACK")
        raise
    raw.execute("COMMIT")
    return True


def run_reads(
    raw: sqlite3.Connection, queries: Sequence[tuple[ClauseElement, Params]]
) -> list[list[Row]]:
    def run(stmt: ClauseElement, params: Params) -> list[Row]:
        sql, bound = PrivateApi.sql(stmt, params)
        cursor = raw.execute(sql, bound)
        return sqlite_rows(cursor.description, cursor.fetchall())

    if len(queries) == 1:  # one statement is consistent by itself
        return [run(*queries[0])]
    raw.execute("BEGIN")
    try:
        return [run(stmt, params) for stmt, params in queries]
    finally:
        raw.execute("COMMIT")


def sqlite_rows(cursor_description: Any, rows: Any) -> list[Row]:
    names = [d[0] for d in cursor_description or ()]
    return [dict(zip(names, row, strict=True)) for row in rows]


def sqlite_sync_engine(path: str) -> Any:
    """A SQLAlchemy sync engine on the same file, for DDL (its transactions BEGIN IMMEDIATE)."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        configure_sqlite(dbapi_conn)

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
