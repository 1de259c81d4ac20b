"""``smithers ps`` and ``smithers inspect``: what runs there are, and what one run is doing."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from smithers.cli.common import EXIT_OK, CliError, emit_result, wants_json
from smithers.cli.queries import open_existing_store
from smithers.cli.snapshot import NodeView, error_text, inspect_run, node_views
from smithers.cli.style import (
    STATE_GLYPHS,
    Style,
    format_age,
    format_clock,
    format_duration,
    style_for,
)
from smithers.statuses import RunStatus
from smithers.store.inspection import nodes_of_runs
from smithers.store.rows import NodeRow

__all__ = ["current_step", "format_inspect", "format_ps", "run_inspect", "run_ps"]

_ACTIVE_NODE_STATES = ("in-progress", "waiting-approval", "waiting-event", "waiting-timer")


def _now_ms() -> int:
    return int(time.time() * 1000)


def current_step(nodes: list[NodeRow]) -> str | None:
    """The node a run is at: the latest one running, else waiting, else the last one touched."""
    for states in (_ACTIVE_NODE_STATES[:1], _ACTIVE_NODE_STATES[1:]):
        active = [n for n in nodes if n.state in states]
        if active:
            return max(active, key=lambda n: n.updated_at_ms).node_id
    if not nodes:
        return None
    return max(nodes, key=lambda n: n.updated_at_ms).node_id


def _check_status(status: str | None) -> None:
    valid = [s.value for s in RunStatus]
    if status is not None and status not in valid:
        raise CliError(f"--status {status!r} is not a run status: use one of {', '.join(valid)}")


async def run_ps(args: argparse.Namespace) -> int:
    """List recent runs, newest first."""
    _check_status(args.status)
    async with open_existing_store(args.db) as store:
        rows = await store.reads.list_runs(args.limit, args.status)
        nodes = await nodes_of_runs(store.db, [r.run_id for r in rows])
    runs = [
        {
            "runId": r.run_id,
            "workflowName": r.workflow_name,
            "status": r.status,
            "step": current_step(nodes[r.run_id]),
            "createdAtMs": r.created_at_ms,
            "startedAtMs": r.started_at_ms,
            "finishedAtMs": r.finished_at_ms,
        }
        for r in rows
    ]
    style = style_for(sys.stdout)
    now = _now_ms()
    emit_result({"runs": runs}, as_json=args.json, human=lambda r: format_ps(r, style, now))
    return EXIT_OK


def _table(rows: list[list[str]], colour: list[str | None], style: Style) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        if number == 0:
            lines.append(style.paint("  ".join(cells).rstrip(), "bold"))
        else:
            cells[2] = style.state(cells[2], colour[number] or "")
            lines.append("  ".join(cells).rstrip())
    return lines


def format_ps(result: dict[str, Any], style: Style, now_ms: int) -> str:
    """The runs as a table: id, workflow, status, step, age."""
    runs = result["runs"]
    if not runs:
        return "no runs yet: start one with `smithers up <workflow.py>`"
    rows = [["RUN ID", "WORKFLOW", "STATUS", "STEP", "AGE"]]
    colours: list[str | None] = [None]
    for run in runs:
        status = run["status"]
        rows.append(
            [
                run["runId"],
                run["workflowName"],
                f"{STATE_GLYPHS.get(status, '?')} {status}",
                run["step"] or "-",
                format_age(run["startedAtMs"] or run["createdAtMs"], now_ms),
            ]
        )
        colours.append(status)
    return "\n".join(_table(rows, colours, style))


async def run_inspect(args: argparse.Namespace) -> int:
    """Show one run: its status, nodes, pending approvals, timers, signals and loops."""
    now = _now_ms()
    async with open_existing_store(args.db) as store:
        details = await inspect_run(store, args.run_id, now)
        views = (
            []
            if wants_json(args.json)
            else await node_views(store, args.run_id, mounted_only=False)
        )
    style = style_for(sys.stdout)
    emit_result(details, as_json=args.json, human=lambda d: format_inspect(d, views, style, now))
    return EXIT_OK


def _node_lines(views: list[NodeView], now_ms: int, style: Style) -> list[str]:
    width = max((len(v.name) for v in views), default=4)
    lines = []
    for view in views:
        glyph = style.state(STATE_GLYPHS.get(view.state, "?"), view.state)
        elapsed = view.elapsed_ms(now_ms)
        parts = [
            view.state.replace("-", " ").ljust(16),
            f"attempt {view.attempt}".ljust(10) if view.attempt else " " * 10,
            format_duration(elapsed).rjust(7) if elapsed is not None else " " * 7,
        ]
        if view.label and view.label != view.node_id:
            parts.append(view.label)
        if view.error:
            parts.append(style.paint(view.error, "red"))
        lines.append(f"  {glyph} {view.name.ljust(width)}  " + "  ".join(parts).rstrip())
    return lines


def _wait_lines(details: dict[str, Any], now_ms: int) -> list[str]:
    run_id = details["run"]["runId"]
    lines = []
    for approval in details["approvals"]:
        flags = f"--node {approval['nodeId']}"
        if approval["iteration"]:
            flags += f" --iteration {approval['iteration']}"
        waited = format_duration(approval["waitingMs"] or 0)
        lines.append(
            f"  ⏸ {approval['title']} (waiting {waited}): "
            f"`smithers approve {run_id} {flags}` or `smithers deny {run_id} {flags}`"
        )
    for timer in details["timers"]:
        due = format_duration(timer["remainingMs"])
        when = format_clock(timer["firesAtMs"])
        lines.append(f"  ⏲ {timer['nodeId']} fires at {when} (in {due})")
    for wait in details["signals"]:
        lines.append(
            f"  ✉ {wait['nodeId']} waits for signal {wait['signalName']!r}: "
            f"`smithers signal {run_id} {wait['signalName']} --data '{{...}}'`"
        )
    return lines


def format_inspect(
    details: dict[str, Any], views: list[NodeView], style: Style, now_ms: int
) -> str:
    """One run for a terminal: header, times, error, nodes, then what it waits for."""
    run = details["run"]
    status = run["status"]
    begun = run["startedAtMs"] or run["createdAtMs"]
    elapsed = format_duration((run["finishedAtMs"] or now_ms) - begun)
    lines = [
        f"{style.paint('run ' + run['runId'], 'bold')}  {run['workflowName']}  "
        f"{style.state(STATE_GLYPHS.get(status, '?') + ' ' + status, status)}",
        f"  created {format_clock(run['createdAtMs'])} · elapsed {elapsed}"
        + (f" · finished {format_clock(run['finishedAtMs'])}" if run["finishedAtMs"] else ""),
    ]
    if run["error"] is not None:
        lines.append(style.paint(f"  error: {error_text(run['error'])}", "red"))
    lines.append(style.paint("nodes", "bold"))
    lines.extend(_node_lines(views, now_ms, style) or ["  (none yet)"])
    waits = _wait_lines(details, now_ms)
    if waits:
        lines.append(style.paint("waiting for", "bold"))
        lines.extend(waits)
    if details["loops"]:
        lines.append(style.paint("loops", "bold"))
        for loop in details["loops"]:
            state = "done" if loop["done"] else "running"
            lines.append(f"  ↻ {loop['loopId']} at iteration {loop['iteration']} ({state})")
    return "\n".join(lines)
