"""How the command line opens an existing database, names it, and reports an unknown run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from smithers.cli.common import CliError, find_db
from smithers.store.db import normalize_url
from smithers.store.rows import RunRow
from smithers.store.store import Store
from smithers.store.urls import redact_url

__all__ = [
    "describe_db",
    "open_existing_store",
    "require_run",
    "run_not_found",
]


def _check_exists(url: str) -> None:
    """A read command must not create an empty database by mistake."""
    try:
        normalized = normalize_url(url)
    except ValueError as exc:
        raise CliError(f"--db: {exc}") from None
    if normalized.startswith("sqlite"):
        path = Path(normalized.split(":///", 1)[1].partition("?")[0])
        if not path.is_file():
            raise CliError(f"no database at {path}: check --db or SMITHERS_DB")


@asynccontextmanager
async def open_existing_store(explicit_db: str | None) -> AsyncIterator[Store]:
    """The database of ``--db``, ``SMITHERS_DB`` or the nearest ``smithers.db``; must exist."""
    url = find_db(explicit_db)
    _check_exists(url)
    async with Store.opened(url) as store:
        yield store


def describe_db(url: str) -> str:
    """A database URL for messages: the file of a SQLite URL, else the URL without its
    password and secret query parameters (``?password=`` too, which SQLAlchemy would show)."""
    if url.startswith("sqlite"):
        return make_url(url).database or url
    return redact_url(url)


def run_not_found(run_id: str, url: str) -> CliError:
    """The error of an unknown run id (exit 4), saying how to find the right one."""
    return CliError(
        f"RUN_NOT_FOUND: run {run_id} is not in {describe_db(url)}: "
        "list the runs with `smithers ps`, or pass the right --db"
    )


async def require_run(store: Store, run_id: str) -> RunRow:
    """The run row, or a ``CliError`` (exit 4) saying how to find the right id."""
    row = await store.reads.get_run(run_id)
    if row is None:
        raise run_not_found(run_id, store.url)
    return row
