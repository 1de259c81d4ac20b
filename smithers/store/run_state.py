"""Everything the run loop needs to continue a run, read in one consistent snapshot."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

from smithers.store import queries as q
from smithers.store.db import Database, Row, Transaction
from smithers.store.rows import ApprovalRow, AttemptRow, NodeRow, RunRow, ToolCallRow

__all__ = ["RunState", "load_state"]


@dataclass(slots=True)
class RunState:
    """A run's row and all its rows: nodes, attempts, approvals, loops, outputs, last frame."""

    run: RunRow
    nodes: list[NodeRow]
    attempts: list[AttemptRow]
    approvals: list[ApprovalRow]
    loops: dict[str, tuple[int, bool]]
    untyped_outputs: list[Row]
    typed_outputs: dict[str, list[Row]] = field(default_factory=dict)
    last_frame_no: int = 0
    last_frame_hash: str | None = None
    last_task_index_json: str | None = None
    max_seq: int = -1
    open_tool_calls: list[ToolCallRow] = field(default_factory=list)
    """Tool calls logged as started and never finished (their process ended meanwhile)."""


async def load_state(db: Database, run_id: str) -> RunState | None:
    """The run and all its rows, read in one snapshot; ``None`` for an unknown run."""
    p = {"run_id": run_id}
    async with db.snapshot() as tx:
        run = await tx.fetch_one(q.RUN, p)
        if run is None:
            return None
        state = RunState(
            run=RunRow(**run),
            nodes=[NodeRow(**r) for r in await tx.fetch_all(q.NODES, p)],
            attempts=[AttemptRow(**r) for r in await tx.fetch_all(q.ATTEMPTS, p)],
            approvals=[ApprovalRow(**r) for r in await tx.fetch_all(q.APPROVALS, p)],
            loops={
                r["ralph_id"]: (int(r["iteration"]), bool(r["done"]))
                for r in await tx.fetch_all(q.LOOPS, p)
            },
            untyped_outputs=await tx.fetch_all(q.UNTYPED_OUTPUTS, p),
        )
        typed_tables = {
            n.output_table
            for n in state.nodes
            if n.output_table and not n.output_table.startswith("_")
        }
        for name in sorted(typed_tables):
            state.typed_outputs[name] = await _typed_rows(tx, name, run_id)
        frame = await tx.fetch_one(q.LAST_FRAME, p)
        if frame is not None:
            state.last_frame_no = int(frame["frame_no"])
            state.last_frame_hash = frame["xml_hash"]
            state.last_task_index_json = frame["task_index_json"]
        max_seq = await tx.fetch_one(q.MAX_SEQ, p)
        state.max_seq = -1 if max_seq is None else int(max_seq["max_seq"])
        state.open_tool_calls = [ToolCallRow(**r) for r in await tx.fetch_all(q.OPEN_TOOL_CALLS, p)]
        return state


_typed_queries: dict[str, Any] = {}


async def _typed_rows(tx: Transaction, table_name: str, run_id: str) -> list[Row]:
    stmt = _typed_queries.get(table_name)
    if stmt is None:
        # table_name comes from output_table_for(), which only admits [a-z_][a-z0-9_]* names.
        stmt = _typed_queries[table_name] = text(
            f'SELECT * FROM "{table_name}" WHERE run_id = :run_id'
        )
    return await tx.fetch_all(stmt, {"run_id": run_id})
