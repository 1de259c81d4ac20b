"""PostgreSQL through SQLAlchemy's asyncpg dialect: the path past one machine."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql import ClauseElement

from smithers.store.db import Database, Guard, Params, Prepared, Row, Transaction
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


class PostgresDatabase(Database):
    """PostgreSQL through SQLAlchemy's asyncpg dialect."""

    dialect = "postgresql"

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
