"""Read queries of the store (no writes here)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import msgspec
from sqlalchemy import Select, and_, bindparam, func, or_, select

from smithers.statuses import TERMINAL, ApprovalStatus, AttemptState
from smithers.store import queries as q
from smithers.store import schema as s
from smithers.store.db import Database, Row, Transaction
from smithers.store.rows import (
    ApprovalRow,
    AttemptRow,
    EventRow,
    FrameRow,
    NodeRow,
    RunRow,
    RunStatusRow,
    SignalRow,
    ToolCallRow,
    TranscriptRow,
)
from smithers.store.run_state import RunState, load_state

__all__ = ["Reads"]

_APPROVAL = select(s.approvals).where(
    s.approvals.c.run_id == bindparam("run_id"),
    s.approvals.c.node_id == bindparam("node_id"),
    s.approvals.c.iteration == bindparam("iteration"),
)
_TOOL_CALLS = (
    select(s.tool_calls)
    .where(s.tool_calls.c.run_id == bindparam("run_id"))
    .order_by(s.tool_calls.c.started_at_ms, s.tool_calls.c.seq)
)
_RUN_TRANSCRIPT = (
    select(s.transcripts)
    .where(s.transcripts.c.run_id == bindparam("run_id"))
    .order_by(s.transcripts.c.created_at_ms, s.transcripts.c.node_id, s.transcripts.c.turn)
)
_TRANSCRIPT = (
    select(s.transcripts)
    .where(
        s.transcripts.c.run_id == bindparam("run_id"),
        s.transcripts.c.node_id == bindparam("node_id"),
        s.transcripts.c.iteration == bindparam("iteration"),
        s.transcripts.c.attempt.in_(bindparam("attempts", expanding=True)),
    )
    .order_by(s.transcripts.c.attempt, s.transcripts.c.turn)
)
_NODE_TOOL_CALLS = select(s.tool_calls).where(
    s.tool_calls.c.run_id == bindparam("run_id"),
    s.tool_calls.c.node_id == bindparam("node_id"),
    s.tool_calls.c.iteration == bindparam("iteration"),
    s.tool_calls.c.attempt.in_(bindparam("attempts", expanding=True)),
)
_MAX_SIGNAL_SEQ = select(func.coalesce(func.max(s.signals.c.seq), -1).label("max_seq")).where(
    s.signals.c.run_id == bindparam("run_id")
)
_SUMMARY = (
    select(s.nodes.c.state, func.count().label("n"))
    .where(s.nodes.c.run_id == bindparam("run_id"))
    .group_by(s.nodes.c.state)
)
_SUMMARY_GROUPS = _SUMMARY.subquery()
"""A derived table cannot see the outer row: it filters by the same bound run id."""


def _run_with_summary(aggregate: Callable[..., Any]) -> Select[Any]:
    """A run's status columns plus its node-state counts as one JSON object, in one statement
    (only the columns of ``RunStatusRow``: every column read costs on a hot path)."""
    counts = select(aggregate(_SUMMARY_GROUPS.c.state, _SUMMARY_GROUPS.c.n))
    columns = [s.runs.c[name] for name in RunStatusRow.__struct_fields__]
    return select(*columns, counts.scalar_subquery().label("summary_json")).where(
        s.runs.c.run_id == bindparam("run_id")
    )


_RUN_WITH_SUMMARY = _run_with_summary(func.json_group_object)
_RUN_WITH_SUMMARY_PG = _run_with_summary(func.json_object_agg)
_EVENTS = (
    select(s.events)
    .where(s.events.c.run_id == bindparam("run_id"), s.events.c.seq > bindparam("after_seq"))
    .order_by(s.events.c.seq)
    .limit(bindparam("limit"))
)
_FRAMES_NEWEST = (
    select(s.frames)
    .where(s.frames.c.run_id == bindparam("run_id"))
    .order_by(s.frames.c.frame_no.desc())
    .limit(bindparam("limit"))
)
_FRAMES_AFTER = (
    select(s.frames)
    .where(s.frames.c.run_id == bindparam("run_id"), s.frames.c.frame_no > bindparam("after"))
    .order_by(s.frames.c.frame_no)
    .limit(bindparam("limit"))
)
_RUNS_NEWEST = select(s.runs).order_by(s.runs.c.created_at_ms.desc()).limit(bindparam("limit"))
_RUNS_BY_STATUS = (
    select(s.runs)
    .where(s.runs.c.status == bindparam("status"))
    .order_by(s.runs.c.created_at_ms.desc())
    .limit(bindparam("limit"))
)
_PENDING_APPROVALS = (
    select(
        s.approvals,
        s.runs.c.workflow_name,
        s.runs.c.status.label("run_status"),
        s.nodes.c.label,
    )
    .select_from(
        s.approvals.outerjoin(s.runs, s.runs.c.run_id == s.approvals.c.run_id).outerjoin(
            s.nodes,
            and_(
                s.nodes.c.run_id == s.approvals.c.run_id,
                s.nodes.c.node_id == s.approvals.c.node_id,
                s.nodes.c.iteration == s.approvals.c.iteration,
            ),
        )
    )
    .where(s.approvals.c.status == ApprovalStatus.REQUESTED.value)
    .order_by(
        func.coalesce(s.approvals.c.requested_at_ms, 0),
        s.approvals.c.run_id,
        s.approvals.c.node_id,
        s.approvals.c.iteration,
    )
    .limit(bindparam("limit"))
)
_WAITING_APPROVAL_COUNT = (
    select(func.count().label("n"))
    .select_from(s.approvals.outerjoin(s.runs, s.runs.c.run_id == s.approvals.c.run_id))
    .where(
        s.approvals.c.status == ApprovalStatus.REQUESTED.value,
        or_(s.runs.c.status.is_(None), s.runs.c.status.not_in(sorted(TERMINAL))),
    )
)
_WAITING_APPROVAL_COUNT_OF_RUN = _WAITING_APPROVAL_COUNT.where(
    s.approvals.c.run_id == bindparam("run_id")
)
_WAITING_ATTEMPTS = select(s.attempts).where(
    s.attempts.c.run_id == bindparam("run_id"), s.attempts.c.state == bindparam("state")
)


def _signal_query(with_correlation: bool) -> Any:
    correlation = (
        s.signals.c.correlation_id == bindparam("correlation_id")
        if with_correlation
        else s.signals.c.correlation_id.is_(None)
    )
    return (
        select(s.signals)
        .where(
            s.signals.c.run_id == bindparam("run_id"),
            s.signals.c.signal_name == bindparam("name"),
            correlation,
            s.signals.c.seq > bindparam("after_seq"),
        )
        .order_by(s.signals.c.seq)
        .limit(1)
    )


_SIGNAL_WITH_CORRELATION = _signal_query(True)
_SIGNAL_WITHOUT_CORRELATION = _signal_query(False)


_INTEGER_RANGE = {"postgresql": (-(2**31), 2**31 - 1), "sqlite": (-(2**63), 2**63 - 1)}
"""What an ``Integer`` column holds in each dialect (PostgreSQL's INTEGER is 32-bit)."""


class Reads:
    """Read-only queries, on the database or inside a transaction."""

    def __init__(self, db: Database | Transaction) -> None:
        self.db = db

    @property
    def integer_range(self) -> tuple[int, int]:
        """The smallest and largest value an ``Integer`` column (seq, frame, iteration) holds
        (a transaction does not say its dialect: the widest range, SQLite's)."""
        dialect = self.db.dialect if isinstance(self.db, Database) else "sqlite"
        return _INTEGER_RANGE.get(dialect, _INTEGER_RANGE["sqlite"])

    def _within_columns(self, value: int) -> int:
        """``value`` moved into the columns' range, for a ``>`` comparison with one of them.

        The answer is the same (no stored value lies above the range, and seqs and frame
        numbers are never negative), while a bind parameter outside it is an error on
        PostgreSQL rather than "no row".
        """
        low, high = self.integer_range
        return min(max(value, low), high)

    async def get_run(self, run_id: str) -> RunRow | None:
        """The run row, or ``None``."""
        if isinstance(self.db, Database):
            rows = (await self.db.fetch_many([(q.RUN, {"run_id": run_id})], small=True))[0]
            return RunRow(**rows[0]) if rows else None
        row = await self.db.fetch_one(q.RUN, {"run_id": run_id})
        return None if row is None else RunRow(**row)

    async def list_runs(self, limit: int, status: str | None = None) -> list[RunRow]:
        """Newest runs first, optionally of one status."""
        if status is None:
            rows = await self.db.fetch_all(_RUNS_NEWEST, {"limit": limit})
        else:
            rows = await self.db.fetch_all(_RUNS_BY_STATUS, {"limit": limit, "status": status})
        return [RunRow(**r) for r in rows]

    async def run_with_summary(self, run_id: str) -> tuple[RunStatusRow, dict[str, int]] | None:
        """The run's status columns and its node state counts, in one statement."""
        assert isinstance(self.db, Database)
        stmt = _RUN_WITH_SUMMARY_PG if self.db.dialect == "postgresql" else _RUN_WITH_SUMMARY
        rows = (await self.db.fetch_many([(stmt, {"run_id": run_id})], small=True))[0]
        if not rows:
            return None
        row = rows[0]
        summary = row.pop("summary_json")
        counts = msgspec.json.decode(summary) if isinstance(summary, str | bytes) else summary
        return RunStatusRow(**row), {k: int(v) for k, v in (counts or {}).items()}

    async def node_summary(self, run_id: str) -> dict[str, int]:
        """Node state → count."""
        rows = await self.db.fetch_all(_SUMMARY, {"run_id": run_id})
        return {r["state"]: int(r["n"]) for r in rows}

    async def list_nodes(self, run_id: str) -> list[NodeRow]:
        """Every node row of a run."""
        return [NodeRow(**r) for r in await self.db.fetch_all(q.NODES, {"run_id": run_id})]

    async def list_attempts(self, run_id: str) -> list[AttemptRow]:
        """Every attempt of a run, by node, iteration and attempt."""
        return [AttemptRow(**r) for r in await self.db.fetch_all(q.ATTEMPTS, {"run_id": run_id})]

    async def list_tool_calls(self, run_id: str) -> list[ToolCallRow]:
        """The run's tool calls, in the order they started (calls started in the same
        millisecond by one attempt in their order of start)."""
        rows = await self.db.fetch_all(_TOOL_CALLS, {"run_id": run_id})
        return [ToolCallRow(**r) for r in rows]

    async def transcript(
        self, run_id: str, node_id: str, iteration: int, attempts: Sequence[int]
    ) -> tuple[list[TranscriptRow], list[ToolCallRow]]:
        """The turns and tool calls of some attempts of one node, in order."""
        if not attempts:
            return [], []
        params = {
            "run_id": run_id,
            "node_id": node_id,
            "iteration": iteration,
            "attempts": list(attempts),
        }
        turns = [TranscriptRow(**r) for r in await self.db.fetch_all(_TRANSCRIPT, params)]
        calls = [ToolCallRow(**r) for r in await self.db.fetch_all(_NODE_TOOL_CALLS, params)]
        return turns, calls

    async def run_transcript(self, run_id: str) -> list[TranscriptRow]:
        """Every committed turn of the run's agent attempts, in the order they were made."""
        rows = await self.db.fetch_all(_RUN_TRANSCRIPT, {"run_id": run_id})
        return [TranscriptRow(**r) for r in rows]

    async def list_approvals(self, run_id: str) -> list[ApprovalRow]:
        """Every approval row of a run."""
        return [ApprovalRow(**r) for r in await self.db.fetch_all(q.APPROVALS, {"run_id": run_id})]

    async def pending_approvals(self, limit: int = 1000) -> list[Row]:
        """Requested approvals, oldest first, with the run's name and status and the label."""
        return await self.db.fetch_all(_PENDING_APPROVALS, {"limit": limit})

    async def count_waiting_approvals(self, run_id: str | None = None) -> int:
        """Requested approvals of runs not yet ended (what the pending listing shows), of
        every run or of one."""
        if run_id is None:
            row = await self.db.fetch_one(_WAITING_APPROVAL_COUNT)
        else:
            row = await self.db.fetch_one(_WAITING_APPROVAL_COUNT_OF_RUN, {"run_id": run_id})
        return 0 if row is None else int(row["n"])

    async def list_events(
        self, run_id: str, after_seq: int = -1, limit: int = 500
    ) -> list[EventRow]:
        """Events with ``seq > after_seq`` in order."""
        rows = await self.db.fetch_all(
            _EVENTS,
            {"run_id": run_id, "after_seq": self._within_columns(after_seq), "limit": limit},
        )
        return [EventRow(**r) for r in rows]

    async def max_event_seq(self, run_id: str) -> int:
        """The run's highest event ``seq`` (-1 when none)."""
        row = await self.db.fetch_one(q.MAX_SEQ, {"run_id": run_id})
        return -1 if row is None else int(row["max_seq"])

    async def list_frames(
        self, run_id: str, limit: int, after_frame_no: int | None
    ) -> list[FrameRow]:
        """Newest frames first, or (with ``after_frame_no``) the ones after it, oldest first."""
        if after_frame_no is None:
            rows = await self.db.fetch_all(_FRAMES_NEWEST, {"run_id": run_id, "limit": limit})
        else:
            rows = await self.db.fetch_all(
                _FRAMES_AFTER,
                {"run_id": run_id, "limit": limit, "after": self._within_columns(after_frame_no)},
            )
        return [FrameRow(**r) for r in rows]

    async def find_signal(
        self, run_id: str, name: str, correlation_id: str | None, after_seq: int
    ) -> SignalRow | None:
        """The first signal of that name and correlation id stored after ``after_seq``."""
        params = {"run_id": run_id, "name": name, "after_seq": after_seq}
        if correlation_id is None:
            row = await self.db.fetch_one(_SIGNAL_WITHOUT_CORRELATION, params)
        else:
            row = await self.db.fetch_one(
                _SIGNAL_WITH_CORRELATION, {**params, "correlation_id": correlation_id}
            )
        return None if row is None else SignalRow(**row)

    async def max_signal_seq(self, run_id: str) -> int:
        """The run's highest signal ``seq`` (-1 when none)."""
        row = await self.db.fetch_one(_MAX_SIGNAL_SEQ, {"run_id": run_id})
        return -1 if row is None else int(row["max_seq"])

    async def get_approval(self, run_id: str, node_id: str, iteration: int) -> ApprovalRow | None:
        """One approval row, or ``None``."""
        row = await self.db.fetch_one(
            _APPROVAL, {"run_id": run_id, "node_id": node_id, "iteration": iteration}
        )
        return None if row is None else ApprovalRow(**row)

    async def waiting_attempts(self, run_id: str, state: AttemptState) -> list[AttemptRow]:
        """Attempts of a run in one state (e.g. waiting for a signal)."""
        rows = await self.db.fetch_all(_WAITING_ATTEMPTS, {"run_id": run_id, "state": state.value})
        return [AttemptRow(**r) for r in rows]

    async def load_state(self, run_id: str) -> RunState | None:
        """The run and all its rows, read in one snapshot (see ``run_state.load_state``)."""
        assert isinstance(self.db, Database), "load_state opens its own snapshot"
        return await load_state(self.db, run_id)
