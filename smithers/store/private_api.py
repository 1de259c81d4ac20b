"""Every private API of a dependency that Smithers uses, fenced in one class.

The SQLite fast path needs two things the public APIs do not give:

- **aiosqlite** runs each call on the connection's own thread through the private
  ``Connection._execute(fn, *args)``. A whole write transaction (guard read, checks, rows,
  events) goes through it in one hand-off instead of one per statement. Without it, the
  callers fall back to one public call per statement (slower, same result).
- **SQLAlchemy** compiles a Core statement once for the SQLite dialect; the compiled form's
  ``binds``, ``post_compile_params``, ``_bind_processors`` and ``construct_expanded_state``
  tell whether a row dict can be handed to ``sqlite3`` as it is (no type processing, no
  ``IN`` expansion), which skips SQLAlchemy's per-row parameter mapping.
- **asyncpg** keeps a connection's transport in ``Connection._transport``; its socket tells,
  without a round trip, whether the server has closed an idle pooled connection
  (``postgres_pool.closed_or_closing``). Without it, only the driver's own ``is_closed()``
  is consulted (a dropped connection is then found by its first statement).

Checked against ``CHECKED_AGAINST``; ``pyproject.toml`` keeps both below their next minor
release, and ``tests/store/test_private_api.py`` exercises each use, so an upgrade that
changes one fails there loudly instead of somewhere deep in a run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import aiosqlite
from sqlalchemy.dialects.sqlite import pysqlite
from sqlalchemy.engine import Compiled
from sqlalchemy.sql import ClauseElement

__all__ = ["CHECKED_AGAINST", "CompiledSql", "PrivateApi"]

CHECKED_AGAINST: Final = {"aiosqlite": "0.22.1", "asyncpg": "0.32.0", "sqlalchemy": "2.1.9"}
"""The versions whose private APIs were read and tested for this module."""

Params = Mapping[str, Any]


@dataclass(slots=True)
class CompiledSql:
    """A Core statement compiled once for SQLite."""

    statement: ClauseElement
    compiled: Compiled
    plain: bool
    """Every bind is a named placeholder without a value or type processing: a row dict
    can be passed to sqlite3 as it is (SQLAlchemy's per-row mapping skipped)."""


class PrivateApi:
    """The only place that touches a dependency's private attributes."""

    one_hop: Final = callable(getattr(aiosqlite.Connection, "_execute", None))
    """Whether aiosqlite still has ``Connection._execute``; callers fall back without it."""

    _dialect: Final = pysqlite.dialect(paramstyle="named")
    _cache: Final[dict[int, CompiledSql]] = {}
    _CACHE_SIZE: Final = 4096

    @staticmethod
    def asyncpg_socket(driver: Any) -> Any:
        """The socket under an asyncpg connection, or ``None`` where it cannot be found."""
        transport = getattr(driver, "_transport", None)
        return None if transport is None else transport.get_extra_info("socket")

    @staticmethod
    async def run_on_connection_thread(
        conn: aiosqlite.Connection, fn: Callable[..., Any], *args: Any
    ) -> Any:
        """``fn(*args)`` on ``conn``'s own thread, in one hand-off (only when ``one_hop``)."""
        return await conn._execute(fn, *args)  # type: ignore[no-untyped-call]

    @classmethod
    def compile(cls, stmt: ClauseElement) -> CompiledSql:
        """``stmt`` compiled for SQLite, cached by identity (statements are module constants)."""
        entry = cls._cache.get(id(stmt))
        if entry is not None and entry.statement is stmt:
            return entry
        compiled = stmt.compile(dialect=cls._dialect)
        binds = compiled.binds.values()  # type: ignore[attr-defined]
        plain = (
            not compiled.post_compile_params  # type: ignore[attr-defined]
            and not getattr(compiled, "_bind_processors", None)
            and all(b.value is None and b.callable is None for b in binds)
        )
        if len(cls._cache) > cls._CACHE_SIZE:
            cls._cache.clear()
        entry = cls._cache[id(stmt)] = CompiledSql(stmt, compiled, plain)
        return entry

    @staticmethod
    def bind(entry: CompiledSql, params: Params | None) -> dict[str, Any]:
        """The parameters of one execution of ``entry``, as sqlite3 takes them.

        Types' bind processors are not applied: the store hands over values sqlite3 takes as
        they are (integers, text, floats, JSON it encoded itself).
        """
        if entry.plain and params is not None:
            return params if isinstance(params, dict) else dict(params)
        return dict(entry.compiled.construct_params(params) or {})

    @classmethod
    def sql(cls, stmt: ClauseElement, params: Params | None) -> tuple[str, dict[str, Any]]:
        """SQL text and parameters for ``sqlite3`` (``IN`` lists expanded)."""
        entry = cls.compile(stmt)
        compiled = entry.compiled
        if compiled.post_compile_params:  # type: ignore[attr-defined]
            state = compiled.construct_expanded_state(dict(params or {}))  # type: ignore[attr-defined]
            return state.statement, dict(state.parameters)
        return compiled.string, cls.bind(entry, params)
