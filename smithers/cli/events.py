"""``smithers events <runId>``: a run's event log, filtered, optionally followed until it ends."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from smithers.cli.common import EXIT_OK, CliError, wants_json
from smithers.cli.progress import describe_event
from smithers.cli.queries import open_existing_store, require_run
from smithers.cli.style import Style, style_for
from smithers.engine import events as event_types
from smithers.statuses import TERMINAL

__all__ = ["EVENT_TYPES", "event_filter", "format_event", "run_events"]

EVENT_TYPES: tuple[str, ...] = tuple(
    name for name in event_types.__all__ if name not in ("Event", "NodeEvent", "encode_event")
)
"""Every stored event type."""

CATEGORIES: dict[str, Callable[[str], bool]] = {
    "run": lambda t: t.startswith("Run"),
    "node": lambda t: t.startswith("Node"),
    "approval": lambda t: t.startswith("Approval") or t == "NodeWaitingApproval",
    "timer": lambda t: t.startswith("Timer") or t == "NodeWaitingTimer",
    "signal": lambda t: t == "SignalReceived",
    "frame": lambda t: t == "FrameCommitted",
    "output": lambda t: t == "NodeOutput",
    "heartbeat": lambda t: t == "TaskHeartbeat",
}
"""``--type`` also takes these categories."""

POLL_INTERVAL_S = 0.25
PAGE = 1000


def _is_type(exact: str) -> Callable[[str], bool]:
    return lambda kind: kind == exact


def event_filter(types: str | None, node: str | None) -> Callable[[dict[str, Any]], bool]:
    """A predicate for ``--type`` (types or categories, comma-separated) and ``--node``."""
    wanted: list[Callable[[str], bool]] = []
    by_lower = {t.lower(): t for t in EVENT_TYPES}
    for part in (types or "").split(","):
        name = part.strip().lower()
        if not name:
            continue
        if name in CATEGORIES:
            wanted.append(CATEGORIES[name])
        elif name in by_lower:
            wanted.append(_is_type(by_lower[name]))
        else:
            raise CliError(
                f"--type {part.strip()!r} is neither an event type nor a category: use one of "
                f"{', '.join(CATEGORIES)} or a type such as NodeFinished "
                f"({', '.join(EVENT_TYPES)})"
            )

    def keep(event: dict[str, Any]) -> bool:
        if node is not None and event.get("nodeId") != node:
            return False
        return not wanted or any(match(str(event.get("type"))) for match in wanted)

    return keep


def _colour_of(kind: str) -> str | None:
    if kind.endswith(("Failed", "Denied", "Cancelled")):
        return "red"
    if kind.endswith("Finished") or kind == "ApprovalGranted":
        return "green"
    if "Approval" in kind or kind.startswith(("NodeWaiting", "RunStatus")):
        return "yellow"
    if kind.endswith("Started"):
        return "cyan"
    return None


def format_event(event: dict[str, Any], style: Style) -> str:
    """``#seq  HH:MM:SS.mmm  Type  summary`` for a terminal."""
    kind = str(event.get("type"))
    stamp_ms = int(event.get("timestampMs", 0))
    clock = time.strftime("%H:%M:%S", time.localtime(stamp_ms / 1000)) + f".{stamp_ms % 1000:03d}"
    summary = describe_event(event)
    if summary is None:
        skip = {"type", "runId", "timestampMs", "seq"}
        summary = " ".join(
            f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in event.items() if k not in skip
        )
    return f"#{event['seq']:<5} {clock}  {style.paint(kind.ljust(20), _colour_of(kind))}  {summary}"


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)


async def run_events(args: argparse.Namespace) -> int:
    """Print the run's events after ``--after-seq``; with ``--follow``, until the run ends."""
    keep = event_filter(args.type, args.node)
    as_json = wants_json(args.json)
    style = style_for(sys.stdout)
    stop = asyncio.Event()
    if args.follow:
        _stop_on_signals(stop)
    async with open_existing_store(args.db) as store:
        await require_run(store, args.run_id)
        last = args.after_seq
        ended = False
        while not stop.is_set():
            rows = await store.reads.list_events(args.run_id, last, PAGE)
            for row in rows:
                last = row.seq
                event = dict(json.loads(row.payload_json), seq=row.seq)
                if keep(event):
                    line = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
                    sys.stdout.write((line if as_json else format_event(event, style)) + "\n")
            sys.stdout.flush()
            if len(rows) == PAGE:
                continue
            if not args.follow or ended:
                break
            run = await require_run(store, args.run_id)
            ended = run.status in TERMINAL  # read the events once more, then stop
            if not ended:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(POLL_INTERVAL_S):
                        await stop.wait()
    return EXIT_OK
