"""PostgreSQL through SQLAlchemy's asyncpg dialect: the path past one machine."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql import ClauseElement

from smithers.store.db import Database, Guard, Params, Prepared, Refused, Row, Transaction
from smithers.store.postgres_pool import DriverPool, closed_or_closing
from smithers.store.urls import redact_url

__all__ = ["PostgresDatabase"]


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
        return [dict(row._mapping) for row in result]  # Row._mapping is public API


def _replace_closed(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """A pooled connection the server dropped (a restart, a failover, an idle timeout) is
    replaced on checkout instead of failing the transaction that drew it, without the round
    trips of SQLAlchemy's ``pool_pre_ping`` (three per checkout on asyncpg)."""
    if closed_or_closing(dbapi_connection.driver_connection):
        raise DisconnectionError("the server closed this pooled connection")


class PostgresDatabase(Database):
    """PostgreSQL through SQLAlchemy's asyncpg dialect."""

    dialect = "postgresql"
    writes_alone = True

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            parsed = make_url(url)
        except ValueError:
            # Not SQLAlchemy's message: it quotes the part that did not parse, which for an
            # "@" or ":" left unencoded in a password is the password.
            raise ValueError(
                f"invalid PostgreSQL URL {redact_url(url)}: percent-encode any '@', ':' or "
                "'/' in the user name or password"
            ) from None
        schema = parsed.query.get("schema")
        connect_args: dict[str, Any] = {}
        if isinstance(schema, str) and schema:
            # ?schema=name keeps all of Smithers' tables in that PostgreSQL schema.
            connect_args["server_settings"] = {"search_path": schema}
            parsed = parsed.difference_update_query(["schema"])
        self.engine: AsyncEngine = create_async_engine(
            parsed, pool_size=10, max_overflow=20, connect_args=connect_args
        )
        event.listen(self.engine.sync_engine.pool, "checkout", _replace_closed)
        _, kwargs = self.engine.dialect.create_connect_args(self.engine.url)
        for adapter_only in ("prepared_statement_cache_size", "prepared_statement_name_func"):
            kwargs.pop(adapter_only, None)
        self._writers = DriverPool({**kwargs, **connect_args})

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
        for retry in (True, False):
            committing = False
            try:
                async with self.engine.begin() as conn:
                    tx = _SaTx(conn)
                    for prepared in build(await tx.fetch_guard(guard, params)):
                        await tx.execute_prepared(prepared)
                    committing = True
                return
            except DBAPIError as exc:
                # Before COMMIT a lost connection took the transaction with it: write again
                # (once) on a fresh one. A loss during COMMIT leaves the outcome unknown.
                if not (retry and exc.connection_invalidated and not committing):
                    raise

    async def write_alone(self, sql: str, args: Sequence[Any]) -> Row | None:
        try:
            row = await self._writers.fetchrow(sql, list(args))
        except asyncpg.PostgresError as exc:  # the server rolled the statement back
            raise Refused(str(exc)) from exc
        except asyncpg.InterfaceError as exc:
            if not isinstance(exc, ValueError):
                raise  # a lost connection: whether it committed is unknown
            raise Refused(str(exc)) from exc  # an argument the driver could not encode
        return None if row is None else dict(row)

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
        return (await self.fetch_many([(stmt, params or {})]))[0]

    async def fetch_many(
        self, queries: Sequence[tuple[ClauseElement, Params]], *, small: bool = False
    ) -> list[list[Row]]:
        for retry in (True, False):
            try:
                if len(queries) == 1:
                    async with self.engine.connect() as conn:
                        return [await _SaTx(conn).fetch_all(*queries[0])]
                return await super().fetch_many(queries)
            except DBAPIError as exc:
                # A connection the server dropped since its last use (no ping on checkout):
                # reads are safe to run again, once, on a fresh one.
                if not (retry and exc.connection_invalidated):
                    raise
        raise AssertionError("unreachable")

    async def run_ddl(self, fn: Callable[[Connection], None]) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(fn)

    async def close(self) -> None:
        await self._writers.close()
        await self.engine.dispose()
