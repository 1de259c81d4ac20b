"""The end of a foreground run: its result object, exit code, next-step hint and summary."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from smithers.cli.common import EXIT_CANCELLED, EXIT_FAILED, EXIT_OK, EXIT_SUSPENDED
from smithers.cli.snapshot import error_text
from smithers.cli.style import STATE_GLYPHS, Style
from smithers.statuses import ApprovalStatus, AttemptState, RunStatus
from smithers.store.attempt_meta import SignalMeta, decode_meta
from smithers.store.store import Store

__all__ = [
    "EXIT_CODES",
    "exit_code_for",
    "final_output",
    "format_run_result",
    "run_result",
    "suspension_hint",
]

EXIT_CODES: dict[str, int] = {
    RunStatus.FINISHED: EXIT_OK,
    RunStatus.FAILED: EXIT_FAILED,
    RunStatus.CANCELLED: EXIT_CANCELLED,
    RunStatus.WAITING_APPROVAL: EXIT_SUSPENDED,
    RunStatus.WAITING_EVENT: EXIT_SUSPENDED,
    RunStatus.WAITING_TIMER: EXIT_SUSPENDED,
}


def exit_code_for(status: str) -> int:
    """0 finished, 1 failed (or anything unexpected), 2 cancelled, 3 suspended."""
    return EXIT_CODES.get(status, EXIT_FAILED)


async def final_output(store: Store, run_id: str) -> tuple[bool, Any]:
    """The output of the last finished node of the top-level sequence, if any."""
    frames = await store.reads.list_frames(run_id, 1, None)
    state = await store.reads.load_state(run_id)
    if not frames or state is None:
        return False, None
    tree = json.loads(frames[0].xml_json)
    body = tree["children"][0] if tree.get("children") else None
    if body is None:
        return False, None
    candidates = body["children"] if body["tag"] == "smithers:sequence" else [body]
    finished = {(n.node_id, n.iteration) for n in state.nodes if n.state == "finished"}
    outputs = {(o["node_id"], o["iteration"]): o["payload_json"] for o in state.untyped_outputs}
    for child in reversed(candidates):
        node_id = child.get("props", {}).get("id")
        iteration = child.get("props", {}).get("iteration", 0)
        if node_id is None or (node_id, iteration) not in finished:
            continue
        if (node_id, iteration) in outputs:
            return True, json.loads(outputs[(node_id, iteration)])
        table = next(n.output_table for n in state.nodes if n.node_id == node_id)
        for row in state.typed_outputs.get(table, []):
            if row["node_id"] == node_id and row["iteration"] == iteration:
                return True, {
                    k: v for k, v in row.items() if k not in ("run_id", "node_id", "iteration")
                }
    return False, None


async def run_result(store: Store, run_id: str, fallback_status: str) -> dict[str, Any]:
    """``{runId, status, output?, error?}`` of the run as stored now."""
    row = await store.reads.get_run(run_id)
    status = row.status if row is not None else fallback_status
    result: dict[str, Any] = {"runId": run_id, "status": status}
    has_output, output = await final_output(store, run_id)
    if has_output:
        result["output"] = output
    if row is not None and row.error_json:
        result["error"] = msgspec.json.decode(row.error_json)
    return result


def _node_flags(node_id: str, iteration: int) -> str:
    return f"--node {node_id}" + (f" --iteration {iteration}" if iteration else "")


async def suspension_hint(store: Store, run_id: str, status: str) -> str | None:
    """What the user should run next for a run waiting for a human or a signal."""
    resume = f"then `smithers resume {run_id}` (a running server continues it by itself)"
    if status == RunStatus.WAITING_APPROVAL:
        pending = [
            a
            for a in await store.reads.list_approvals(run_id)
            if a.status == ApprovalStatus.REQUESTED
        ]
        if not pending:
            return f"Run {run_id} is waiting for approval: see `smithers inspect {run_id}`"
        names = ", ".join(repr(a.node_id) for a in pending)
        first = pending[0]
        flags = _node_flags(first.node_id, first.iteration)
        return (
            f"Run {run_id} is waiting for approval of {names}: run "
            f"`smithers approve {run_id} {flags}` (or `smithers deny {run_id} {flags}`), {resume}"
        )
    if status == RunStatus.WAITING_EVENT:
        waiting = await store.reads.waiting_attempts(run_id, AttemptState.WAITING_EVENT)
        signals = []
        for attempt in waiting:
            meta = decode_meta(attempt.meta_json)
            signals.append(meta.signal_name if isinstance(meta, SignalMeta) else attempt.node_id)
        name = signals[0] if signals else "<name>"
        return (
            f"Run {run_id} is waiting for signal {name!r}: run "
            f"`smithers signal {run_id} {name} --data '{{...}}'`, {resume}"
        )
    return None


def format_run_result(result: dict[str, Any], style: Style) -> str:
    """The readable summary of a run result for a terminal."""
    status = str(result.get("status"))
    glyph = STATE_GLYPHS.get(status, "?")
    lines = [f"{style.state(f'{glyph} {status}', status)}  run {result.get('runId')}"]
    if "output" in result:
        lines.append(f"output: {json.dumps(result['output'], ensure_ascii=False)}")
    if result.get("error") is not None:
        lines.append(style.paint(f"error: {error_text(result['error'])}", "red"))
    return "\n".join(lines)
