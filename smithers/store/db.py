"""Database connections: SQLite (the embedded default) and PostgreSQL, behind one interface.

Statements are SQLAlchemy Core constructs everywhere. PostgreSQL executes them through
SQLAlchemy's asyncpg engine. SQLite compiles them with SQLAlchemy (once per statement, cached)
and executes them on aiosqlite connections directly: SQLAlchemy's aiosqlite adapter costs three
to four thread hand-offs per statement, which made a durable step several times slower
(measured: 11 hand-offs and ~0.9 ms for a two-statement transaction, against ~0.2 ms direct).

SQLite discipline: WAL, ``synchronous=NORMAL``, ``busy_timeout=5000``, ``foreign_keys=ON``;
writers start with ``BEGIN IMMEDIATE`` on one writer connection per process (serialised by an
asyncio lock); readers use a small pool of their own connections.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import Connection, event
from sqlalchemy.dialects.sqlite import pysqlite
from sqlalchemy.engine import Compiled, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql import ClauseElement

__all__ = [
    "Database",
    "Guard",
    "Prepared",
    "Row",
    "Statement",
    "Transaction",
    "normalize_url",
    "open_database",
]

Row = dict[str, Any]
Params = Mapping[str, Any]
Statement = tuple[ClauseElement, "Params | Sequence[Params]"]
Guard = ClauseElement | Sequence[ClauseElement]
"""One statement, or several run in order and merged (None when the first finds no row)."""


@dataclass(slots=True)
class Prepared:
    """A statement ready to execute, prepared by the caller (not on the database's thread).

    ``statement`` is SQL text with bound ``rows`` (SQLite) or a SQLAlchemy statement (PostgreSQL);
    several rows mean executemany. Callers may still fill in a value of ``rows`` (an event's seq).
    """

    statement: Any
    rows: list[dict[str, Any]]
    many: bool


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
            if not (_is_busy(exc) and time.monotonic() < deadline):
                raise
            time.sleep(0.005)
    for pragma in (*SQLITE_PRAGMAS, *extra):
        raw.execute(pragma)


def normalize_url(url: str | Path) -> str:
    """A SQLAlchemy async URL from a path, ``sqlite:///path`` or a PostgreSQL URL."""
    text = str(url)
    if "://" not in text:
        return f"sqlite+aiosqlite:///{Path(text).expanduser().resolve()}"
    scheme, rest = text.split("://", 1)
    if scheme in ("sqlite", "sqlite+aiosqlite", "sqlite+pysqlite"):
        path = rest[1:] if rest.startswith("/") else rest
        if path in ("", ":memory:"):
            raise ValueError("an in-memory SQLite database cannot be shared; give a file path")
        return f"sqlite+aiosqlite:///{Path(path).expanduser().resolve()}"
    if scheme in ("postgres", "postgresql", "postgresql+asyncpg"):
        return f"postgresql+asyncpg://{rest}"
    raise ValueError(
        f"unsupported database URL {text!r}: use a file path, sqlite:/// or postgresql://"
    )


class Transaction(ABC):
    """Statements executed inside one transaction (or one consistent read)."""

    @abstractmethod
    async def execute(
        self, stmt: ClauseElement, params: Params | Sequence[Params] | None = None
    ) -> int:
        """Run a statement (a list of params means executemany); returns the row count."""

    @abstractmethod
    async def fetch_all(self, stmt: ClauseElement, params: Params | None = None) -> list[Row]:
        """Rows of a query as dicts."""

    async def fetch_one(self, stmt: ClauseElement, params: Params | None = None) -> Row | None:
        """The first row of a query, or ``None``."""
        rows = await self.fetch_all(stmt, params)
        return rows[0] if rows else None

    @abstractmethod
    async def execute_prepared(self, prepared: Prepared) -> None:
        """Run a statement ``Database.prepare`` made."""

    async def fetch_guard(self, guard: Guard, params: Params) -> Row | None:
        """The merged first rows of the guard statements (``None`` if the first has none)."""
        merged: Row | None = None
        for index, stmt in enumerate(_guards(guard)):
            row = await self.fetch_one(stmt, params)
            if row is None and index == 0:
                return None
            merged = {**(merged or {}), **(row or {})}
        return merged


def _guards(guard: Guard) -> Sequence[ClauseElement]:
    return [guard] if isinstance(guard, ClauseElement) else guard


class Database(ABC):
    """One database: transactions for writers, plain reads, and DDL."""

    url: str
    dialect: str

    @abstractmethod
    def transaction(self) -> Any:
        """``async with db.transaction() as tx``: a write transaction, committed on success."""

    @abstractmethod
    async def write(
        self,
        guard: Guard,
        params: Params,
        build: Callable[[Row | None], list[Prepared]],
    ) -> None:
        """One write transaction: read the ``guard`` row, then run what ``build(row)`` returns.

        ``build`` is plain synchronous code (it may run on the database's own thread); it may
        raise to abort the transaction without writing anything.
        """

    @abstractmethod
    def prepare(self, stmt: ClauseElement, params: Params | Sequence[Params]) -> Prepared:
        """Compile and bind a statement for ``write`` (a list of params means executemany)."""

    @abstractmethod
    def snapshot(self) -> Any:
        """``async with db.snapshot() as tx``: several reads that see one consistent state."""

    @abstractmethod
    async def fetch_all(self, stmt: ClauseElement, params: Params | None = None) -> list[Row]:
        """Rows of a single query."""

    async def fetch_one(self, stmt: ClauseElement, params: Params | None = None) -> Row | None:
        """The first row of a single query, or ``None``."""
        rows = await self.fetch_all(stmt, params)
        return rows[0] if rows else None

    async def fetch_many(
        self, queries: Sequence[tuple[ClauseElement, Params]], *, small: bool = False
    ) -> list[list[Row]]:
        """Several queries in one consistent read (one hand-off on SQLite).

        ``small``: point lookups of a few rows, which SQLite may answer on the caller's thread.
        """
        async with self.snapshot() as tx:
            return [await tx.fetch_all(stmt, params) for stmt, params in queries]

    @abstractmethod
    async def run_ddl(self, fn: Callable[[Connection], None]) -> None:
        """Run ``fn`` with a synchronous SQLAlchemy connection inside one write transaction."""

    @abstractmethod
    async def close(self) -> None:
        """Close every connection."""


def open_database(url: str | Path) -> Database:
    """A ``Database`` for a path or URL (connections open lazily)."""
    normalized = normalize_url(url)
    if normalized.startswith("sqlite"):
        return SqliteDatabase(normalized)
    return PostgresDatabase(normalized)


# --- SQLite ------------------------------------------------------------------------------

_SQLITE_DIALECT = pysqlite.dialect(paramstyle="named")


@dataclass(slots=True)
class _SqliteStatement:
    statement: ClauseElement
    compiled: Compiled
    plain: bool
    """Every bind is a named placeholder without a value or type processing: a row dict
    can be passed to sqlite3 as it is (SQLAlchemy's per-row mapping skipped)."""


_compiled: dict[int, _SqliteStatement] = {}


def _compile(stmt: ClauseElement) -> _SqliteStatement:
    entry = _compiled.get(id(stmt))
    if entry is not None and entry.statement is stmt:
        return entry
    compiled = stmt.compile(dialect=_SQLITE_DIALECT)
    binds = compiled.binds.values()  # type: ignore[attr-defined]
    plain = (
        not compiled.post_compile_params  # type: ignore[attr-defined]
        and not getattr(compiled, "_bind_processors", None)
        and all(b.value is None and b.callable is None for b in binds)
    )
    if len(_compiled) > 4096:
        _compiled.clear()
    entry = _compiled[id(stmt)] = _SqliteStatement(stmt, compiled, plain)
    return entry


def _bound(entry: _SqliteStatement, params: Params | None) -> dict[str, Any]:
    if entry.plain and params is not None:
        return params if isinstance(params, dict) else dict(params)
    return dict(entry.compiled.construct_params(params) or {})


def _sqlite_sql(stmt: ClauseElement, params: Params | None) -> tuple[str, dict[str, Any]]:
    entry = _compile(stmt)
    compiled = entry.compiled
    if compiled.post_compile_params:  # type: ignore[attr-defined]
        state = compiled.construct_expanded_state(dict(params or {}))  # type: ignore[attr-defined]
        return state.statement, dict(state.parameters)
    return compiled.string, _bound(entry, params)


_ONE_HOP = callable(getattr(aiosqlite.Connection, "_execute", None))
"""aiosqlite runs every call through ``Connection._execute(fn)`` on the connection's thread;
a whole write transaction uses it once. Without it, statements go one by one."""


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


def _run_write(
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
        if busy_ok and _is_busy(exc):
            return False
        raise
    try:
        merged: Row | None = None
        for index, stmt in enumerate(_guards(guard)):
            sql, bound = _sqlite_sql(stmt, params)
            cursor = raw.execute(sql, bound)
            rows = _sqlite_rows(cursor.description, cursor.fetchall())
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


def _run_reads(
    raw: sqlite3.Connection, queries: Sequence[tuple[ClauseElement, Params]]
) -> list[list[Row]]:
    def run(stmt: ClauseElement, params: Params) -> list[Row]:
        sql, bound = _sqlite_sql(stmt, params)
        cursor = raw.execute(sql, bound)
        return _sqlite_rows(cursor.description, cursor.fetchall())

    if len(queries) == 1:  # one statement is consistent by itself
        return [run(*queries[0])]
    raw.execute("BEGIN")
    try:
        return [run(stmt, params) for stmt, params in queries]
    finally:
        raw.execute("COMMIT")


def _sqlite_rows(cursor_description: Any, rows: Any) -> list[Row]:
    names = [d[0] for d in cursor_description or ()]
    return [dict(zip(names, row, strict=True)) for row in rows]


class _SqliteTx(Transaction):
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(
        self, stmt: ClauseElement, params: Params | Sequence[Params] | None = None
    ) -> int:
        if isinstance(params, Sequence) and not isinstance(params, Mapping):
            if not params:
                return 0
            entry = _compile(stmt)
            cursor = await self._conn.executemany(
                entry.compiled.string, [_bound(entry, p) for p in params]
            )
        else:
            sql, bound = _sqlite_sql(stmt, params)
            cursor = await self._conn.execute(sql, bound)
        return cursor.rowcount

    async def execute_prepared(self, prepared: Prepared) -> None:
        if prepared.many:
            await self._conn.executemany(prepared.statement, prepared.rows)
        else:
            await self._conn.execute(prepared.statement, prepared.rows[0])

    async def fetch_all(self, stmt: ClauseElement, params: Params | None = None) -> list[Row]:
        sql, bound = _sqlite_sql(stmt, params)
        async with self._conn.execute(sql, bound) as cursor:
            rows = await cursor.fetchall()
            return _sqlite_rows(cursor.description, rows)


class SqliteDatabase(Database):
    """SQLite file: one writer connection, a small pool of readers."""

    dialect = "sqlite"

    def __init__(self, url: str, readers: int = 4) -> None:
        self.url = url
        self.path = make_url(url).database or ""
        self._write_lock = asyncio.Lock()
        self._writer: aiosqlite.Connection | None = None
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._reader_count = 0
        self._max_readers = readers
        self._open_lock = asyncio.Lock()
        self._all: list[aiosqlite.Connection] = []
        self._raw: dict[int, sqlite3.Connection] = {}
        self._here: dict[int, sqlite3.Connection] = {}
        self._here_writers: dict[int, sqlite3.Connection] = {}
        self._since_checkpoint = 0
        self._checkpoint: asyncio.Task[None] | None = None

    async def _connect(self) -> aiosqlite.Connection:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        opened: list[sqlite3.Connection] = []

        def connector() -> sqlite3.Connection:
            raw = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            try:
                configure_sqlite(raw)
            except BaseException:
                raw.close()
                raise
            opened.append(raw)
            return raw

        # aiosqlite stops its (non-daemon) thread itself if opening fails or is cancelled; once
        # open, the connection is tracked at once so that close() always reaches it.
        conn = await aiosqlite.Connection(connector, 64)
        self._all.append(conn)
        self._raw[id(conn)] = opened[0]
        return conn

    async def _writer_conn(self) -> aiosqlite.Connection:
        if self._writer is None:
            async with self._open_lock:
                if self._writer is None:
                    self._writer = await self._connect()
        return self._writer

    @asynccontextmanager
    async def _reader(self) -> AsyncIterator[aiosqlite.Connection]:
        if self._readers.empty() and self._reader_count < self._max_readers:
            self._reader_count += 1
            try:
                conn = await self._connect()
            except BaseException:
                self._reader_count -= 1
                raise
        else:
            conn = await self._readers.get()
        try:
            yield conn
        finally:
            self._readers.put_nowait(conn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._write_lock:
            conn = await self._writer_conn()
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTx(conn)
            except BaseException:
                await asyncio.shield(conn.execute("ROLLBACK"))
                raise
            await conn.execute("COMMIT")

    def prepare(self, stmt: ClauseElement, params: Params | Sequence[Params]) -> Prepared:
        if isinstance(params, Sequence) and not isinstance(params, Mapping):
            entry = _compile(stmt)
            rows = [_bound(entry, p) for p in params]
            return Prepared(entry.compiled.string, rows, True)
        sql, bound = _sqlite_sql(stmt, params)
        return Prepared(sql, [bound], False)

    async def write(
        self,
        guard: Guard,
        params: Params,
        build: Callable[[Row | None], list[Prepared]],
    ) -> None:
        async with self._write_lock:
            if self._write_here(guard, params, build):
                return
            conn = await self._writer_conn()
            raw = self._raw.get(id(conn))
            if raw is None or not _ONE_HOP:
                await self._write_per_statement(conn, guard, params, build)
                return
            # The whole transaction in one hand-off to the connection's own thread.
            await conn._execute(_run_write, raw, guard, params, build)  # type: ignore[no-untyped-call]

    def _write_here(
        self, guard: Guard, params: Params, build: Callable[[Row | None], list[Prepared]]
    ) -> bool:
        """A write transaction on the event loop's own connection; False when SQLite is busy.

        Handing a transaction to the writer thread and back costs more than the transaction
        (a one-task run: ~1.4 ms held per write, ~0.9 ms of it on the writer thread waiting
        for the GIL, against ~0.3 ms for the same SQL from raw sqlite3). This connection never
        waits for a lock (``busy_timeout=0``): when another process is writing, the caller
        waits on the writer thread instead. A WAL commit with ``synchronous=NORMAL`` does not
        fsync; checkpoints (which do) run on the writer thread, never here.
        """
        thread = threading.get_ident()
        raw = self._here_writers.get(thread)
        if raw is None:
            try:
                raw = self._here_writers[thread] = self._connect_here("PRAGMA wal_autocheckpoint=0")
            except sqlite3.OperationalError as exc:
                if _is_busy(exc):  # busy while opening (journal mode): the thread takes over
                    return False
                raise
        if not _run_write(raw, guard, params, build, busy_ok=True):
            return False
        self._since_checkpoint += 1
        if self._since_checkpoint >= CHECKPOINT_EVERY and self._checkpoint is None:
            self._since_checkpoint = 0
            self._checkpoint = asyncio.get_running_loop().create_task(self._checkpoint_wal())
        return True

    def _connect_here(self, *pragmas: str) -> sqlite3.Connection:
        """A connection for the calling (event loop) thread; it never waits for a lock, so
        opening it can fail busy (the caller then hands its work to a thread)."""
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        raw = sqlite3.connect(self.path, timeout=0, isolation_level=None, check_same_thread=False)
        try:
            configure_sqlite(raw, *pragmas, busy_timeout_s=0)
        except BaseException:
            raw.close()
            raise
        return raw

    async def _checkpoint_wal(self) -> None:
        """Copy the WAL back into the database file on the writer thread (PASSIVE: it waits
        for nobody, and writers go on meanwhile)."""
        try:
            conn = await self._writer_conn()
            await conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except (sqlite3.Error, ValueError):
            pass  # a busy or closing database: the next checkpoint catches up
        finally:
            self._checkpoint = None

    async def _write_per_statement(
        self,
        conn: aiosqlite.Connection,
        guard: Guard,
        params: Params,
        build: Callable[[Row | None], list[Prepared]],
    ) -> None:
        await conn.execute("BEGIN IMMEDIATE")
        try:
            tx = _SqliteTx(conn)
            for prepared in build(await tx.fetch_guard(guard, params)):
                await tx.execute_prepared(prepared)
        except BaseException:
            await asyncio.shield(conn.execute("ROLLBACK"))
            raise
        await conn.execute("COMMIT")

    async def fetch_many(
        self, queries: Sequence[tuple[ClauseElement, Params]], *, small: bool = False
    ) -> list[list[Row]]:
        if small:
            answered = self._read_here(queries)
            if answered is not None:
                return answered
        async with self._reader() as conn:
            raw = self._raw.get(id(conn))
            if raw is None or not _ONE_HOP:
                return await super().fetch_many(queries)
            result: list[list[Row]] = await conn._execute(_run_reads, raw, queries)  # type: ignore[no-untyped-call]
            return result

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Transaction]:
        async with self._reader() as conn:
            await conn.execute("BEGIN")
            try:
                yield _SqliteTx(conn)
            finally:
                await asyncio.shield(conn.execute("COMMIT"))

    async def fetch_all(self, stmt: ClauseElement, params: Params | None = None) -> list[Row]:
        return (await self.fetch_many([(stmt, params or {})]))[0]

    def _read_here(self, queries: Sequence[tuple[ClauseElement, Params]]) -> list[list[Row]] | None:
        """Small reads on the event loop's own connection, or ``None`` to use the readers.

        Handing a read to a reader thread costs several times what a point lookup does (about
        120 us against 25 us per request). This connection never waits for a lock
        (``busy_timeout=0``): WAL readers do not wait for writers, and in the rare case SQLite
        answers busy, the read goes to a reader thread instead.
        """
        thread = threading.get_ident()
        conn = self._here.get(thread)
        try:
            if conn is None:  # one per thread that runs an event loop on this database
                conn = self._here[thread] = self._connect_here("PRAGMA query_only=ON")
            return _run_reads(conn, queries)
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                if conn is not None and conn.in_transaction:
                    conn.execute("ROLLBACK")
                return None
            raise

    async def run_ddl(self, fn: Callable[[Connection], None]) -> None:
        def apply() -> None:
            engine = _sqlite_sync_engine(self.path)
            try:
                with engine.begin() as conn:
                    fn(conn)
            finally:
                engine.dispose()

        async with self._write_lock:
            await asyncio.to_thread(apply)

    async def close(self) -> None:
        if self._checkpoint is not None:
            await asyncio.gather(self._checkpoint, return_exceptions=True)
        for conn in self._all:
            try:
                await conn.close()
            except (sqlite3.Error, ValueError):
                pass
        self._all.clear()
        self._raw.clear()
        for here in (*self._here.values(), *self._here_writers.values()):
            here.close()
        self._here.clear()
        self._here_writers.clear()
        self._writer = None
        self._readers = asyncio.Queue()
        self._reader_count = 0


def _sqlite_sync_engine(path: str) -> Any:
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


# --- PostgreSQL --------------------------------------------------------------------------


class _SaTx(Transaction):
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def execute(
        self, stmt: ClauseElement, params: Params | Sequence[Params] | None = None
    ) -> int:
        if isinstance(params, Sequence) and not isinstance(params, Mapping):
            if not params:
                return 0
            result = await self._conn.execute(stmt, list(params))  # type: ignore[call-overload]
        else:
            result = await self._conn.execute(stmt, dict(params or {}))  # type: ignore[call-overload]
        return int(result.rowcount)

    async def execute_prepared(self, prepared: Prepared) -> None:
        await self.execute(prepared.statement, prepared.rows if prepared.many else prepared.rows[0])

    async def fetch_all(self, stmt: ClauseElement, params: Params | None = None) -> list[Row]:
        result = await self._conn.execute(stmt, dict(params or {}))  # type: ignore[call-overload]
        return [dict(row._mapping) for row in result]


class PostgresDatabase(Database):
    """PostgreSQL through SQLAlchemy's asyncpg dialect."""

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        schema = parsed.query.get("schema")
        connect_args: dict[str, Any] = {}
        if isinstance(schema, str) and schema:
            # ?schema=name keeps all of Smithers' tables in that PostgreSQL schema.
            connect_args["server_settings"] = {"search_path": schema}
            parsed = parsed.difference_update_query(["schema"])
        # pre-ping: a pooled connection the server dropped (a restart, a failover, an idle
        # timeout) is replaced on checkout instead of failing the request that drew it
        self.engine: AsyncEngine = create_async_engine(
            parsed, pool_size=10, max_overflow=20, pool_pre_ping=True, connect_args=connect_args
        )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self.engine.begin() as conn:
            yield _SaTx(conn)

    async def write(
        self,
        guard: Guard,
        params: Params,
        build: Callable[[Row | None], list[Prepared]],
    ) -> None:
        async with self.engine.begin() as conn:
            tx = _SaTx(conn)
            for prepared in build(await tx.fetch_guard(guard, params)):
                await tx.execute_prepared(prepared)

    def prepare(self, stmt: ClauseElement, params: Params | Sequence[Params]) -> Prepared:
        if isinstance(params, Mapping):
            return Prepared(stmt, [dict(params)], False)
        return Prepared(stmt, [dict(p) for p in params], True)

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Transaction]:
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                yield _SaTx(conn)

    async def fetch_all(self, stmt: ClauseElement, params: Params | None = None) -> list[Row]:
        async with self.engine.connect() as conn:
            return await _SaTx(conn).fetch_all(stmt, params)

    async def run_ddl(self, fn: Callable[[Connection], None]) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(fn)

    async def close(self) -> None:
        await self.engine.dispose()
