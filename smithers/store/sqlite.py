"""SQLite, the embedded default: aiosqlite threads plus the event loop's own connections.

Statements are SQLAlchemy Core constructs, compiled once (``PrivateApi``) and executed on
``sqlite3`` connections directly: SQLAlchemy's aiosqlite adapter costs three to four thread
hand-offs per statement, which made a durable step several times slower (measured: 11
hand-offs and ~0.9 ms for a two-statement transaction, against ~0.2 ms direct).

Discipline: WAL, ``synchronous=NORMAL``, ``busy_timeout=5000``, ``foreign_keys=ON``; writers
start with ``BEGIN IMMEDIATE`` on one writer connection per process (serialised by an asyncio
lock); readers use a small pool of their own connections.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite
from sqlalchemy import Connection
from sqlalchemy.engine import make_url
from sqlalchemy.sql import ClauseElement

from smithers import trust
from smithers.store.db import Database, Guard, Params, Prepared, Row, Transaction
from smithers.store.private_api import PrivateApi
from smithers.store.sqlite_raw import (
    CHECKPOINT_EVERY,
    configure_sqlite,
    is_busy,
    run_reads,
    run_write,
    sqlite_rows,
    sqlite_sync_engine,
)

__all__ = ["SqliteDatabase"]


class _SqliteTx(Transaction):
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(
        self, stmt: ClauseElement, params: Params | Sequence[Params] | None = None
    ) -> int:
        if isinstance(params, Sequence) and not isinstance(params, Mapping):
            if not params:
                return 0
            entry = PrivateApi.compile(stmt)
            cursor = await self._conn.executemany(
                entry.compiled.string, [PrivateApi.bind(entry, p) for p in params]
            )
        else:
            sql, bound = PrivateApi.sql(stmt, params)
            cursor = await self._conn.execute(sql, bound)
        return cursor.rowcount

    async def execute_prepared(self, prepared: Prepared) -> None:
        if prepared.many:
            await self._conn.executemany(prepared.statement, prepared.rows)
        else:
            await self._conn.execute(prepared.statement, prepared.rows[0])

    async def fetch_all(self, stmt: ClauseElement, params: Params | None = None) -> list[Row]:
        sql, bound = PrivateApi.sql(stmt, params)
        async with self._conn.execute(sql, bound) as cursor:
            rows = await cursor.fetchall()
            return sqlite_rows(cursor.description, rows)


class SqliteDatabase(Database):
    """SQLite file: one writer connection, a small pool of readers."""

    dialect = "sqlite"

    def __init__(self, url: str, readers: int = 4) -> None:
        self.url = url
        parsed = make_url(url)
        self.path = parsed.database or ""
        trust.protect_database(self.path)  # no tool may see or change it (smithers.trust)
        self.full_sync = parsed.query.get("synchronous") == "full"
        """``synchronous=FULL``: a commit waits for fsync, so none runs on the event loop."""
        self._pragmas = ("PRAGMA synchronous=FULL",) if self.full_sync else ()
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
                configure_sqlite(raw, *self._pragmas)
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
            entry = PrivateApi.compile(stmt)
            rows = [PrivateApi.bind(entry, p) for p in params]
            return Prepared(entry.compiled.string, rows, True)
        sql, bound = PrivateApi.sql(stmt, params)
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
            if raw is None or not PrivateApi.one_hop:
                await self._write_per_statement(conn, guard, params, build)
                return
            # The whole transaction in one hand-off to the connection's own thread.
            await PrivateApi.run_on_connection_thread(conn, run_write, raw, guard, params, build)

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
        if self.full_sync:
            return False  # its fsync would stall every request on this loop
        thread = threading.get_ident()
        raw = self._here_writers.get(thread)
        if raw is None:
            try:
                raw = self._here_writers[thread] = self._connect_here("PRAGMA wal_autocheckpoint=0")
            except sqlite3.OperationalError as exc:
                if is_busy(exc):  # busy while opening (journal mode): the thread takes over
                    return False
                raise
        if not run_write(raw, guard, params, build, busy_ok=True):
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
            configure_sqlite(raw, *self._pragmas, *pragmas, busy_timeout_s=0)
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
            if raw is None or not PrivateApi.one_hop:
                return await super().fetch_many(queries)
            result: list[list[Row]] = await PrivateApi.run_on_connection_thread(
                conn, run_reads, raw, queries
            )
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
            return run_reads(conn, queries)
        except sqlite3.OperationalError as exc:
            if is_busy(exc):
                if conn is not None and conn.in_transaction:
                    conn.execute("ROLLBACK")
                return None
            raise

    async def run_ddl(self, fn: Callable[[Connection], None]) -> None:
        def apply() -> None:
            engine = sqlite_sync_engine(self.path)
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
