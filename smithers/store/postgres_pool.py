"""The driver's own connections for PostgreSQL's one-statement writes, and their liveness.

SQLAlchemy's pool costs ~0.16 ms per checkout on this path (its connection wrappers and
events), a third of a one-statement commit; asyncpg's pool costs a few µs when its release
sends nothing (its default reset is a round trip). The statements run outside transactions,
so there is no session state to reset. Neither pool pings: ``closed_or_closing`` tells a
connection the server dropped apart without a round trip.
"""

from __future__ import annotations

import asyncio
import select
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from smithers.store.db import Refused
from smithers.store.private_api import PrivateApi

__all__ = ["WRITERS", "DriverPool", "closed_or_closing"]

WRITERS = 4
"""Connections of the one-statement pool (per process, beside SQLAlchemy's pool)."""


def closed_or_closing(driver: Any) -> bool:
    """Whether an idle asyncpg connection is gone: the driver saw it close, or bytes wait on
    its socket (an idle connection receives nothing but the server's goodbye, or EOF)."""
    if driver.is_closed():
        return True
    sock = PrivateApi.asyncpg_socket(driver)
    if sock is None:
        return False
    readable, _, _ = select.select([sock.fileno()], [], [], 0)
    return bool(readable)


async def _keep(connection: Any) -> None:
    """Release without a reset query: nothing of a session outlives a lone statement."""


class DriverPool:
    """A small asyncpg pool, opened on first use with SQLAlchemy's connect arguments."""

    def __init__(self, connect_kwargs: dict[str, Any]) -> None:
        self._kwargs = connect_kwargs
        self._pool: Any = None
        self._opening = asyncio.Lock()

    async def fetchrow(self, sql: str, args: list[Any]) -> Any:
        """The statement's first row (``None`` if it has none) on a live connection."""
        pool = self._pool or await self._open()
        for _ in range(3):
            conn = await pool.acquire()
            try:
                if closed_or_closing(conn):
                    conn.terminate()  # released below; the pool opens a new one next time
                    continue
                return await conn.fetchrow(sql, *args)
            finally:
                await pool.release(conn)
        raise Refused("no live connection to PostgreSQL")  # nothing was sent

    async def _open(self) -> Any:
        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    **self._kwargs, min_size=1, max_size=WRITERS, reset=_keep
                )
        return self._pool

    async def close(self) -> None:
        """Close the connections (a pool never opened has none)."""
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
