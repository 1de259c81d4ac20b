"""What a run looks like now, read from the database: its JSON view, its nodes, its waits."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from smithers.cli.queries import run_not_found
from smithers.statuses import ApprovalStatus, AttemptState
from smithers.store.attempt_meta import SignalMeta, TimerMeta, decode_meta
from smithers.store.db import Database, Transaction
from smithers.store.inspection import latest_task_index, list_loops
from smithers.store.reads import Reads
from smithers.store.rows import ApprovalRow, AttemptRow, NodeRow, RunRow
from smithers.store.store import Store

__all__ = ["NodeView", "error_text", "inspect_run", "live_state", "node_views", "run_json"]

NOT_STARTED = "not-started"


@dataclass(slots=True)
class NodeView:
    """One node (one iteration) as the views show it."""

    node_id: str
    iteration: int
    label: str | None
    state: str
    attempt: int | None = None
    started_at_ms: int | None = None
    finished_at_ms: int | None = None
    error: str | None = None

    @property
    def name(self) -> str:
        """``id``, or ``id[iteration]`` past the first iteration."""
        return f"{self.node_id}[{self.iteration}]" if self.iteration else self.node_id

    def elapsed_ms(self, now_ms: int) -> int | None:
        """Time spent in the latest attempt (so far, when it still runs)."""
        if self.started_at_ms is None:
            return None
        return (self.finished_at_ms or now_ms) - self.started_at_ms


def _decode(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def error_text(error: Any) -> str:
    """A stored error (a string or ``{name, message, code?}``) as one line of text."""
    if isinstance(error, dict):
        return str(error.get("message") or error.get("name") or error)
    return str(error)


def run_json(row: RunRow, summary: dict[str, int]) -> dict[str, Any]:
    """The run as ``GET /v1/runs/{runId}`` shows it."""
    return {
        "runId": row.run_id,
        "workflowName": row.workflow_name,
        "status": row.status,
        "createdAtMs": row.created_at_ms,
        "startedAtMs": row.started_at_ms,
        "finishedAtMs": row.finished_at_ms,
        "heartbeatAtMs": row.heartbeat_at_ms,
        "summary": summary,
        "error": _decode(row.error_json),
    }


def _last_attempts(attempts: list[AttemptRow]) -> dict[tuple[str, int], AttemptRow]:
    last: dict[tuple[str, int], AttemptRow] = {}
    for attempt in attempts:  # ordered by node, iteration, attempt
        last[(attempt.node_id, attempt.iteration)] = attempt
    return last


def _view(key: tuple[str, int], row: NodeRow | None, attempt: AttemptRow | None) -> NodeView:
    view = NodeView(key[0], key[1], row.label if row else None, row.state if row else NOT_STARTED)
    if row is not None:
        view.attempt = row.last_attempt
    if attempt is not None and row is not None:
        view.attempt = attempt.attempt
        view.started_at_ms = attempt.started_at_ms
        view.finished_at_ms = attempt.finished_at_ms
        if attempt.state == AttemptState.FAILED:
            view.error = error_text(_decode(attempt.error_json))
    return view


async def _node_views(
    db: Database | Transaction, run_id: str, *, mounted_only: bool
) -> list[NodeView]:
    reads = Reads(db)
    index = await latest_task_index(db, run_id)
    rows = {(n.node_id, n.iteration): n for n in await reads.list_nodes(run_id)}
    last = _last_attempts(await reads.list_attempts(run_id))
    mounted = [(str(e["nodeId"]), int(e.get("iteration", 0))) for e in index]
    ordinal = {key[0]: i for i, key in reversed(list(enumerate(mounted)))}
    keys = list(dict.fromkeys(mounted))
    if not mounted_only:
        others = [k for k in rows if k not in set(keys)]
        keys += sorted(others, key=lambda k: (ordinal.get(k[0], len(ordinal)), k[0], k[1]))
    return [_view(k, rows.get(k), last.get(k)) for k in keys]


async def node_views(store: Store, run_id: str, *, mounted_only: bool) -> list[NodeView]:
    """Nodes in frame order: the mounted ones (``not-started`` until reached), then the rest."""
    async with store.db.snapshot() as tx:
        return await _node_views(tx, run_id, mounted_only=mounted_only)


async def live_state(store: Store, run_id: str) -> tuple[RunRow | None, list[NodeView]]:
    """The run row and its mounted nodes, read in one consistent snapshot."""
    async with store.db.snapshot() as tx:
        run = await Reads(tx).get_run(run_id)
        return run, await _node_views(tx, run_id, mounted_only=True)


def _approval_json(row: ApprovalRow, label: str | None, now_ms: int) -> dict[str, Any]:
    request = _decode(row.request_json)
    request = request if isinstance(request, dict) else {}
    return {
        "nodeId": row.node_id,
        "iteration": row.iteration,
        "label": label or row.node_id,
        "title": request.get("title") or label or row.node_id,
        "summary": request.get("summary"),
        "requestedAtMs": row.requested_at_ms,
        "waitingMs": None if row.requested_at_ms is None else now_ms - row.requested_at_ms,
    }


def _waits(attempts: list[AttemptRow], now_ms: int) -> tuple[list[Any], list[Any]]:
    timers: list[dict[str, Any]] = []
    signals: list[dict[str, Any]] = []
    for attempt in attempts:
        meta = decode_meta(attempt.meta_json)
        where = {"nodeId": attempt.node_id, "iteration": attempt.iteration}
        if attempt.state == AttemptState.WAITING_TIMER and isinstance(meta, TimerMeta):
            fires = meta.fires_at_ms
            timers.append({**where, "firesAtMs": fires, "remainingMs": max(0, fires - now_ms)})
        elif attempt.state == AttemptState.WAITING_EVENT and isinstance(meta, SignalMeta):
            signals.append(
                {
                    **where,
                    "signalName": meta.signal_name,
                    "correlationId": meta.correlation_id,
                    "timeoutAtMs": meta.timeout_at_ms,
                }
            )
    return timers, signals


async def inspect_run(store: Store, run_id: str, now_ms: int) -> dict[str, Any]:
    """The run, its nodes, pending approvals, waiting timers and signals, and its loops."""
    async with store.db.snapshot() as tx:
        reads = Reads(tx)
        row = await reads.get_run(run_id)
        if row is None:
            raise run_not_found(run_id, store.url)
        summary = await reads.node_summary(run_id)
        views = await _node_views(tx, run_id, mounted_only=False)
        approvals = await reads.list_approvals(run_id)
        attempts = await reads.list_attempts(run_id)
        loops = await list_loops(tx, run_id)
    labels = {(v.node_id, v.iteration): v.label for v in views}
    pending = [
        _approval_json(a, labels.get((a.node_id, a.iteration)), now_ms)
        for a in approvals
        if a.status == ApprovalStatus.REQUESTED
    ]
    timers, signals = _waits(attempts, now_ms)
    return {
        "run": run_json(row, summary),
        "nodes": [
            {
                "nodeId": v.node_id,
                "iteration": v.iteration,
                "state": v.state,
                "attempt": v.attempt,
                "label": v.label,
            }
            for v in views
            if v.state != NOT_STARTED
        ],
        "approvals": sorted(pending, key=lambda a: a["requestedAtMs"] or 0),
        "timers": timers,
        "signals": signals,
        "loops": [
            {"loopId": loop.loop_id, "iteration": loop.iteration, "done": loop.done}
            for loop in loops
        ],
    }
