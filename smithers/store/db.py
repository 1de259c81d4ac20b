"""The database interface every store implementation provides, and URL normalisation.

``Database`` (transactions, writes, consistent reads, DDL) is implemented by
``store/sqlite.py`` (the embedded default) and ``store/postgres.py``; ``store/connect.py``
picks one for a URL. Statements are SQLAlchemy Core constructs everywhere.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql import ClauseElement

__all__ = [
    "Database",
    "Guard",
    "Params",
    "Prepared",
    "Refused",
    "Row",
    "Statement",
    "Transaction",
    "guard_statements",
    "normalize_url",
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


def normalize_url(url: str | Path) -> str:
    """A SQLAlchemy async URL from a path, ``sqlite:///path`` or a PostgreSQL URL."""
    text = str(url)
    if "://" not in text:
        return f"sqlite+aiosqlite:///{Path(text).expanduser().resolve()}"
    scheme, rest = text.split("://", 1)
    if scheme in ("sqlite", "sqlite+aiosqlite", "sqlite+pysqlite"):
        path, _, query = rest.partition("?")
        path = path[1:] if path.startswith("/") else path
        if path in ("", ":memory:"):
            raise ValueError("an in-memory SQLite database cannot be shared; give a file path")
        return f"sqlite+aiosqlite:///{Path(path).expanduser().resolve()}{_sqlite_options(query)}"
    if scheme in ("postgres", "postgresql", "postgresql+asyncpg"):
        return f"postgresql+asyncpg://{rest}"
    # The scheme only: the rest of the URL may hold a password.
    raise ValueError(
        f"unsupported database URL scheme {scheme!r}: use a file path, sqlite:/// or postgresql://"
    )


def _sqlite_options(query: str) -> str:
    """The SQLite URL options Smithers reads: ``synchronous=normal`` (the default, left out)
    or ``synchronous=full`` (a WAL commit waits for fsync; see docs/deploy.md)."""
    if not query:
        return ""
    key, _, value = query.partition("=")
    if key != "synchronous" or value.lower() not in ("normal", "full") or "&" in value:
        raise ValueError(
            f"the only SQLite URL option is synchronous=normal or synchronous=full, not {query!r}"
        )
    return "" if value.lower() == "normal" else "?synchronous=full"


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
        for index, stmt in enumerate(guard_statements(guard)):
            row = await self.fetch_one(stmt, params)
            if row is None and index == 0:
                return None
            merged = {**(merged or {}), **(row or {})}
        return merged


def guard_statements(guard: Guard) -> Sequence[ClauseElement]:
    return [guard] if isinstance(guard, ClauseElement) else guard


class Refused(Exception):
    """The database rejected a statement run on its own, which therefore wrote nothing."""


class Database(ABC):
    """One database: transactions for writers, plain reads, and DDL."""

    url: str
    dialect: str
    writes_alone = False
    """Whether ``write_alone`` is available (PostgreSQL: see ``store/postgres_commit.py``)."""

    async def write_alone(self, sql: str, args: Sequence[Any]) -> Row | None:
        """Run one statement outside any transaction (committed on its own): its first row.

        Raises ``Refused`` when the database rejects it (nothing was written).
        """
        raise NotImplementedError

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
