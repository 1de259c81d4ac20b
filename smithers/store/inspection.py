"""Reads the command line's views need beyond ``Reads``: a run's mounted leaves, its loops,
the nodes of several runs; and the workflow files the store's runs may still load. Nothing
here writes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import bindparam, select

from smithers.statuses import FINAL
from smithers.store import queries as q
from smithers.store import schema as s
from smithers.store.db import Database, Transaction
from smithers.store.rows import NodeRow

__all__ = ["LoopState", "latest_task_index", "list_loops", "nodes_of_runs", "workflows_to_load"]

_WORKFLOWS_TO_LOAD = (
    select(s.runs.c.workflow_path)
    .where(s.runs.c.status.not_in(sorted(FINAL)), s.runs.c.workflow_path.is_not(None))
    .distinct()
)
_NODES_OF_RUNS = select(s.nodes).where(s.nodes.c.run_id.in_(bindparam("run_ids", expanding=True)))


class LoopState(NamedTuple):
    """A loop of a run: its current iteration and whether it is done."""

    loop_id: str
    iteration: int
    done: bool


async def latest_task_index(db: Database | Transaction, run_id: str) -> list[dict[str, Any]]:
    """The mounted leaves of the run's latest frame (``nodeId``, ``iteration``, ``ordinal``…)."""
    row = await db.fetch_one(q.LAST_FRAME, {"run_id": run_id})
    if row is None or not row["task_index_json"]:
        return []
    entries = json.loads(row["task_index_json"])
    return [e for e in entries if isinstance(e, dict) and "nodeId" in e]


async def list_loops(db: Database | Transaction, run_id: str) -> list[LoopState]:
    """The run's loops, by loop id."""
    rows = await db.fetch_all(q.LOOPS, {"run_id": run_id})
    return [LoopState(r["ralph_id"], int(r["iteration"]), bool(r["done"])) for r in rows]


async def nodes_of_runs(db: Database, run_ids: Sequence[str]) -> dict[str, list[NodeRow]]:
    """The node rows of several runs, by run id."""
    by_run: dict[str, list[NodeRow]] = {run_id: [] for run_id in run_ids}
    if not run_ids:
        return by_run
    for row in await db.fetch_all(_NODES_OF_RUNS, {"run_ids": list(run_ids)}):
        by_run[row["run_id"]].append(NodeRow(**row))
    return by_run


async def workflows_to_load(db: Database) -> list[str]:
    """The workflow files of the runs that may run again (every run not in a final status:
    a waiting run is resumed, a failed or cancelled one may be), each once."""
    return [str(row["workflow_path"]) for row in await db.fetch_all(_WORKFLOWS_TO_LOAD, {})]
