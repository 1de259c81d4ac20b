"""Everything the run loop needs to continue a run, read in one consistent snapshot."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select, text

from smithers.store import schema as s
from smithers.store.db import Database, Row, Transaction
from smithers.store.rows import ApprovalRow, AttemptRow, NodeRow, RunRow, ToolCallRow

__all__ = ["RunState", "load_state"]

_LOOPS = select(s.loops).where(s.loops.c.run_id == bindparam("run_id"))
_UNTYPED = select(s.outputs).where(s.outputs.c.run_id == bindparam("run_id"))
_OPEN_TOOL_CALLS = select(s.tool_calls).where(
    s.tool_calls.c.run_id == bindparam("run_id"), s.tool_calls.c.status == "in-progress"
)
_LAST_FRAME = (
    select(s.frames.c.frame_no, s.frames.c.xml_hash, s.frames.c.task_index_json)
    .where(s.frames.c.run_id == bindparam("run_id"))
    .order_by(s.frames.c.frame_no.desc())
    .limit(1)
)


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
    from smithers.store.reads import Reads  # here: reads imports this module

    async with db.snapshot() as tx:
        reads = Reads(tx)
        run = await reads.get_run(run_id)
        if run is None:
            return None
        p = {"run_id": run_id}
        state = RunState(
            run=run,
            nodes=await reads.list_nodes(run_id),
            attempts=await reads.list_attempts(run_id),
            approvals=await reads.list_approvals(run_id),
            loops={
                r["ralph_id"]: (int(r["iteration"]), bool(r["done"]))
                for r in await tx.fetch_all(_LOOPS, p)
            },
            untyped_outputs=await tx.fetch_all(_UNTYPED, p),
        )
        typed_tables = {
            n.output_table
            for n in state.nodes
            if n.output_table and not n.output_table.startswith("_")
        }
        for name in sorted(typed_tables):
            state.typed_outputs[name] = await _typed_rows(tx, name, run_id)
        frame = await tx.fetch_one(_LAST_FRAME, p)
        if frame is not None:
            state.last_frame_no = int(frame["frame_no"])
            state.last_frame_hash = frame["xml_hash"]
            state.last_task_index_json = frame["task_index_json"]
        state.max_seq = await reads.max_event_seq(run_id)
        state.open_tool_calls = [ToolCallRow(**r) for r in await tx.fetch_all(_OPEN_TOOL_CALLS, p)]
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
