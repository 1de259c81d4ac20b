"""``smithers up``: run one workflow in the foreground, with progress, until it ends or waits."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec

from smithers.authoring.loader import LoadedWorkflow, load_workflow
from smithers.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_CANCELLED,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_SIGINT,
    EXIT_SIGTERM,
    EXIT_SUSPENDED,
    CliError,
    default_db,
    emit_result,
    parse_json_object,
)
from smithers.cli.progress import PlainProgress
from smithers.engine.hub import EventHub
from smithers.engine.ids import RUN_ID_PATTERN, new_run_id
from smithers.engine.scheduler import RunScheduler, StartOptions
from smithers.errors import (
    InvalidRequest,
    RunAlreadyExists,
    RunInProgress,
    RunNotFound,
    WorkflowLoadError,
)
from smithers.statuses import TERMINAL, RunStatus
from smithers.store.batch import StoredEvent
from smithers.store.rows import EventRow
from smithers.store.store import Store

__all__ = ["final_output", "follow_events", "resolve_db", "run_up"]

STOP_STATUSES = frozenset(
    {*TERMINAL, RunStatus.WAITING_APPROVAL, RunStatus.WAITING_EVENT, "lost", "crashed"}
)
"""``up`` waits through timers (it owns the run); it stops when a human or a signal is needed."""

EXIT_CODES: dict[str, int] = {
    RunStatus.FINISHED: EXIT_OK,
    RunStatus.FAILED: EXIT_FAILED,
    RunStatus.CANCELLED: EXIT_CANCELLED,
    RunStatus.WAITING_APPROVAL: EXIT_SUSPENDED,
    RunStatus.WAITING_EVENT: EXIT_SUSPENDED,
}


def load(path_text: str) -> LoadedWorkflow:
    """Load the workflow file named on the command line."""
    path = Path(path_text)
    if not path.is_file():
        raise CliError(f"workflow file not found: {path_text}")
    try:
        return load_workflow(path.resolve())
    except WorkflowLoadError as exc:
        raise CliError(f"cannot load {path_text}: {exc.message}") from exc


def _absolute(path: str) -> Path:
    return Path(os.path.abspath(path))


def resolve_db(loaded: LoadedWorkflow, explicit: str | None) -> str:
    """The workflow's own database if it pins one (relative to its file), else the CLI's."""
    pinned = loaded.workflow.db
    if pinned is None:
        return default_db(explicit)
    if "://" in pinned:
        return pinned
    return str((loaded.path.parent / pinned).resolve())


async def follow_events(
    store: Store,
    hub: EventHub,
    run_id: str,
    on_event: Callable[[str], None],
    stop: asyncio.Event,
    after_seq: int = -1,
) -> None:
    """Call ``on_event`` for each event of the run, in order, until ``stop`` and drained."""
    last = after_seq
    with hub.subscribe(store.url, run_id) as sub:
        while True:
            buffered = sub.take(last)
            events: Sequence[StoredEvent | EventRow] = (
                buffered
                if buffered is not None
                else await store.reads.list_events(run_id, last, 500)
            )
            for event in events:
                on_event(event.payload_json)
                last = event.seq
            if not events and stop.is_set():
                return
            if not events:
                await sub.wait(0.25)


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


def _suspension_hint(run_id: str, status: str, waiting: list[str]) -> str:
    if status == RunStatus.WAITING_APPROVAL and waiting:
        node = waiting[0]
        return (
            f"Run {run_id} is waiting for approval of {node!r}: "
            f"run `smithers approve {run_id} --node {node}` (or deny), "
            f"then `smithers resume {run_id}`"
        )
    if status == RunStatus.WAITING_EVENT:
        return (
            f"Run {run_id} is waiting for a signal: "
            f"run `smithers signal {run_id} <name>`, then `smithers resume {run_id}`"
        )
    return f"Run {run_id} is {status}"


async def run_up(args: Any) -> int:
    """Run (or resume) a workflow in the foreground; returns the exit code."""
    loaded = load(args.workflow)
    raw_input = parse_json_object(args.input, "--input") if args.input else {}
    if args.run_id is not None and not RUN_ID_PATTERN.match(args.run_id):
        raise CliError(f"--run-id {args.run_id!r} is not a valid run id")
    if args.resume and args.run_id is None:
        raise CliError("--resume needs --run-id")
    if args.max_concurrency is not None and args.max_concurrency < 1:
        raise CliError("--max-concurrency must be a positive integer")
    root = _absolute(args.root) if args.root else None
    store = Store.open(resolve_db(loaded, args.db))
    scheduler = RunScheduler()
    run_id = args.run_id or new_run_id()
    stop = asyncio.Event()
    interrupted: list[int] = []
    follower: asyncio.Task[None] | None = None
    try:
        await scheduler.attach(store)
        await scheduler.start()
        after_seq = await store.reads.max_event_seq(run_id) if args.resume else -1
        follower = asyncio.create_task(
            follow_events(store, scheduler.hub, run_id, PlainProgress().on_event, stop, after_seq)
        )
        waiter = asyncio.create_task(scheduler.wait(run_id, STOP_STATUSES))
        await asyncio.sleep(0)
        options = StartOptions(args.max_concurrency, root, bool(args.allow_network))
        try:
            if args.resume:
                await scheduler.resume_run(
                    store, run_id, loaded, options=options, force=bool(args.force)
                )
            else:
                await scheduler.start_run(
                    store, loaded, input=raw_input, run_id=run_id, options=options
                )
        except RunAlreadyExists:
            raise CliError(
                f"RUN_EXISTS: run {run_id} already exists; add --resume to continue it"
            ) from None
        except RunNotFound:
            raise CliError(f"run {run_id} does not exist") from None
        except RunInProgress as exc:
            raise CliError(f"{exc.message}; add --force to take it over") from None
        except InvalidRequest as exc:
            raise CliError(exc.message) from None
        _install_signal_handlers(scheduler, store, run_id, interrupted)
        outcome = await waiter
        stop.set()
        await follower
        row = await store.reads.get_run(run_id)
        status = row.status if row is not None else outcome.status
        result: dict[str, Any] = {"runId": run_id, "status": status}
        has_output, output = await final_output(store, run_id)
        if has_output:
            result["output"] = output
        if row is not None and row.error_json:
            result["error"] = msgspec.json.decode(row.error_json)
        if status in (RunStatus.WAITING_APPROVAL, RunStatus.WAITING_EVENT):
            waiting = [n.node_id for n in await store.reads.list_nodes(run_id) if n.state == status]
            sys.stderr.write(_suspension_hint(run_id, status, waiting) + "\n")
        emit_result(result, as_json=bool(args.json))
        if interrupted:
            return interrupted[0]
        return EXIT_CODES.get(status, EXIT_FAILED)
    finally:
        stop.set()
        if follower is not None and not follower.done():
            follower.cancel()
        await scheduler.close()
        await store.close()


def _install_signal_handlers(
    scheduler: RunScheduler, store: Store, run_id: str, interrupted: list[int]
) -> None:
    loop = asyncio.get_running_loop()

    def on_signal(code: int) -> None:
        if interrupted:
            sys.stderr.write("\nexiting now\n")
            os._exit(code)
        interrupted.append(code)
        sys.stderr.write("\ncancelling the run (press Ctrl-C again to exit at once)\n")
        task = loop.create_task(scheduler.cancel_run(store, run_id))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    loop.add_signal_handler(signal.SIGINT, on_signal, EXIT_SIGINT)
    loop.add_signal_handler(signal.SIGTERM, on_signal, EXIT_SIGTERM)


assert EXIT_BAD_INPUT == 4
