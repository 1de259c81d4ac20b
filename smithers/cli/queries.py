"""Read queries the command line needs beyond ``Reads``, and how it opens a database.

Each is one SQLAlchemy Core ``select`` run through ``store.db.fetch_all``; nothing here writes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import make_url

from smithers.cli.common import CliError, find_db
from smithers.store import schema as s
from smithers.store.db import Database, Transaction, normalize_url
from smithers.store.rows import RunRow
from smithers.store.store import Store
from smithers.store.urls import redact_url

__all__ = [
    "describe_db",
    "latest_task_index",
    "list_loops",
    "nodes_of_runs",
    "open_existing_store",
    "require_run",
    "run_not_found",
]

_LATEST_TASK_INDEX = (
    select(s.frames.c.task_index_json)
    .where(s.frames.c.run_id == bindparam("run_id"))
    .order_by(s.frames.c.frame_no.desc())
    .limit(1)
)
_LOOPS = (
    select(s.ralph.c.ralph_id, s.ralph.c.iteration, s.ralph.c.done)
    .where(s.ralph.c.run_id == bindparam("run_id"))
    .order_by(s.ralph.c.ralph_id)
)
_NODES_OF_RUNS = select(
    s.nodes.c.run_id,
    s.nodes.c.node_id,
    s.nodes.c.iteration,
    s.nodes.c.state,
    s.nodes.c.label,
    s.nodes.c.updated_at_ms,
).where(s.nodes.c.run_id.in_(bindparam("run_ids", expanding=True)))


def _check_exists(url: str) -> None:
    """A read command must not create an empty database by mistake."""
    try:
        normalized = normalize_url(url)
    except ValueError as exc:
        raise CliError(f"--db: {exc}") from None
    if normalized.startswith("sqlite"):
        path = Path(normalized.split(":///", 1)[1])
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


async def latest_task_index(db: Database | Transaction, run_id: str) -> list[dict[str, Any]]:
    """The mounted leaves of the run's latest frame (``nodeId``, ``iteration``, ``ordinal``…)."""
    row = await db.fetch_one(_LATEST_TASK_INDEX, {"run_id": run_id})
    if row is None or not row["task_index_json"]:
        return []
    entries = json.loads(row["task_index_json"])
    return [e for e in entries if isinstance(e, dict) and "nodeId" in e]


async def list_loops(db: Database | Transaction, run_id: str) -> list[dict[str, Any]]:
    """The run's loops: ``{loopId, iteration, done}``."""
    rows = await db.fetch_all(_LOOPS, {"run_id": run_id})
    return [
        {"loopId": r["ralph_id"], "iteration": int(r["iteration"]), "done": bool(r["done"])}
        for r in rows
    ]


async def nodes_of_runs(store: Store, run_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Node rows (id, iteration, state, label, updated) of several runs, by run id."""
    by_run: dict[str, list[dict[str, Any]]] = {run_id: [] for run_id in run_ids}
    if not run_ids:
        return by_run
    for row in await store.db.fetch_all(_NODES_OF_RUNS, {"run_ids": list(run_ids)}):
        by_run[row["run_id"]].append(row)
    return by_run
