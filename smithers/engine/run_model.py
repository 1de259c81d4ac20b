"""The run loop's in-memory view of one run, loaded once and kept current after each commit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from smithers.authoring.context import RunOutputs
from smithers.statuses import AttemptState
from smithers.store.attempt_meta import AttemptMeta, TaskMeta, decode_meta
from smithers.store.outputs import KEY_COLUMNS, OutputTable, output_table_for
from smithers.store.rows import ApprovalRow, NodeRow
from smithers.store.run_state import RunState

__all__ = ["ApprovalInfo", "AttemptInfo", "Key", "NodeInfo", "RunModel"]

Key = tuple[str, int]


@dataclass(slots=True)
class AttemptInfo:
    """One attempt of a node."""

    attempt: int
    state: str
    started_at_ms: int
    finished_at_ms: int | None = None
    meta: AttemptMeta = field(default_factory=TaskMeta)
    heartbeat_data_json: str | None = None


@dataclass(slots=True)
class NodeInfo:
    """The stored state of one (node, iteration) and its attempts."""

    node_id: str
    iteration: int
    state: str | None = None
    last_attempt: int | None = None
    label: str | None = None
    output_table: str = ""
    extra_attempts: int = 0
    attempts: list[AttemptInfo] = field(default_factory=list)

    @property
    def failed_count(self) -> int:
        """Failed attempts (the only ones that count toward retries)."""
        return sum(1 for a in self.attempts if a.state == AttemptState.FAILED)

    @property
    def latest(self) -> AttemptInfo | None:
        """The highest-numbered attempt."""
        return self.attempts[-1] if self.attempts else None

    @property
    def next_attempt(self) -> int:
        """The number the next attempt gets."""
        return self.attempts[-1].attempt + 1 if self.attempts else 1

    def in_progress(self) -> AttemptInfo | None:
        """The attempt running now, if any."""
        for attempt in reversed(self.attempts):
            if attempt.state == AttemptState.IN_PROGRESS:
                return attempt
        return None

    def last_heartbeat(self) -> Any:
        """The checkpoint the most recent attempt that recorded one left."""
        for attempt in reversed(self.attempts):
            if attempt.heartbeat_data_json is not None:
                return msgspec.json.decode(attempt.heartbeat_data_json)
        return None

    def row(self, run_id: str, now: int, state: str, last_attempt: int | None) -> NodeRow:
        """The ``_smithers_nodes`` row with a new ``state`` (and ``last_attempt``, if given)."""
        return NodeRow(
            run_id=run_id,
            node_id=self.node_id,
            iteration=self.iteration,
            state=state,
            last_attempt=self.last_attempt if last_attempt is None else last_attempt,
            updated_at_ms=now,
            output_table=self.output_table,
            label=self.label,
            extra_attempts=self.extra_attempts,
        )


@dataclass(slots=True)
class ApprovalInfo:
    """A stored approval request and its decision."""

    status: str
    requested_at_ms: int | None = None
    decided_at_ms: int | None = None
    note: str | None = None
    decided_by: str | None = None

    @classmethod
    def of(cls, row: ApprovalRow) -> ApprovalInfo:
        """The approval of a stored row."""
        return cls(row.status, row.requested_at_ms, row.decided_at_ms, row.note, row.decided_by)


class RunModel:
    """Nodes, attempts, approvals, loops and outputs of a run, as the store has them."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.outputs = RunOutputs()
        self.nodes: dict[Key, NodeInfo] = {}
        self.approvals: dict[Key, ApprovalInfo] = {}
        self.loops: dict[str, tuple[int, bool]] = {}
        self.frame_no = 0
        self.frame_hash: str | None = None
        self.seen_seq = -1

    def node(self, node_id: str, iteration: int) -> NodeInfo:
        """The node's info, created empty (no stored row) when absent."""
        key = (node_id, iteration)
        info = self.nodes.get(key)
        if info is None:
            info = self.nodes[key] = NodeInfo(node_id, iteration)
        return info

    def forget_iteration(self, loop_id: str, iteration: int) -> None:
        """Drop the node state of a loop's iteration that has ended: no render mounts it
        again, so a long loop keeps its outputs (build and task functions read them) but not
        one ``NodeInfo`` per node and iteration."""
        for node_id, node_loop in self.outputs.node_loops.items():
            if node_loop == loop_id:
                self.nodes.pop((node_id, iteration), None)

    @classmethod
    def from_state(cls, state: RunState, struct_types: Iterable[type[msgspec.Struct]]) -> RunModel:
        """Build the model from a snapshot the store read."""
        model = cls(state.run.run_id)
        for row in state.nodes:
            model.nodes[(row.node_id, row.iteration)] = NodeInfo(
                row.node_id,
                row.iteration,
                row.state,
                row.last_attempt,
                row.label,
                row.output_table,
                row.extra_attempts,
            )
        for a in state.attempts:
            model.node(a.node_id, a.iteration).attempts.append(
                AttemptInfo(
                    a.attempt,
                    a.state,
                    a.started_at_ms,
                    a.finished_at_ms,
                    decode_meta(a.meta_json),
                    a.heartbeat_data_json,
                )
            )
        for ap in state.approvals:
            model.approvals[(ap.node_id, ap.iteration)] = ApprovalInfo.of(ap)
        model.loops = dict(state.loops)
        for loop_id, (iteration, _) in state.loops.items():
            model.outputs.loop_iterations[loop_id] = iteration
        for out in state.untyped_outputs:
            model.outputs.put(
                out["node_id"], out["iteration"], msgspec.json.decode(out["payload_json"])
            )
        tables = {t.name: t for t in (output_table_for(st) for st in struct_types)}
        for name, rows in state.typed_outputs.items():
            table = tables.get(name)
            for out_row in rows:
                model.outputs.put(out_row["node_id"], out_row["iteration"], _decode(table, out_row))
        model.frame_no = state.last_frame_no
        model.frame_hash = state.last_frame_hash
        if state.last_task_index_json:
            for entry in msgspec.json.decode(state.last_task_index_json):
                if entry.get("loopId"):
                    model.outputs.node_loops[entry["nodeId"]] = entry["loopId"]
        model.seen_seq = state.max_seq
        return model


def _decode(table: OutputTable | None, row: dict[str, Any]) -> Any:
    if table is not None:
        try:
            return table.decode_row(row)
        except (msgspec.ValidationError, msgspec.DecodeError):
            pass
    return {k: v for k, v in row.items() if k not in KEY_COLUMNS}
