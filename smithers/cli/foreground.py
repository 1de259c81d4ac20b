"""Running one run in the foreground (``up``, ``up --resume``, ``resume``) with progress on stderr.

This process owns the run: it waits through timers and tasks, stops when the run ends or needs
a human or a signal, prints the result on stdout and returns the exit code. The first Ctrl-C
(or SIGTERM) cancels the run cleanly; a second one exits at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence

from smithers.cli.common import EXIT_SIGINT, EXIT_SIGTERM, CliError, emit_result
from smithers.cli.live import LiveView
from smithers.cli.progress import PlainProgress, Progress
from smithers.cli.result import exit_code_for, format_run_result, run_result, suspension_hint
from smithers.cli.serving import ServeConfig, Serving, start_serving
from smithers.cli.style import style_for
from smithers.engine.hub import EventHub
from smithers.engine.outcomes import LoopEnd, RunOutcome
from smithers.engine.scheduler import RunScheduler
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
from smithers.tools.shell import UNSANDBOXED_WARNING, SandboxMode

__all__ = ["STOP_STATUSES", "follow_events", "make_progress", "run_in_foreground"]

STOP_STATUSES = frozenset(
    {*TERMINAL, RunStatus.WAITING_APPROVAL, RunStatus.WAITING_EVENT, LoopEnd.LOST, LoopEnd.CRASHED}
)
"""The foreground waits through timers (it owns the run); it stops when a human or a signal is
needed, or when the run ends."""

SERVING_STOP_STATUSES = frozenset({*TERMINAL, LoopEnd.LOST, LoopEnd.CRASHED})
"""When the run is also served over HTTP, decisions and signals arrive there: only the end of
the run stops the foreground."""

WIND_DOWN_S = 5.0
"""How long background readers get to return by themselves before they are cancelled."""

Begin = Callable[[RunScheduler], Awaitable[object]]
"""Starts or resumes the run on the scheduler (raises the engine's errors)."""


def make_progress(store: Store, run_id: str) -> Progress:
    """The live view on a terminal, plain event lines otherwise."""
    if sys.stderr.isatty() and os.environ.get("TERM") != "dumb":
        return LiveView(store, run_id, sys.stderr)
    return PlainProgress(sys.stderr)


async def follow_events(
    store: Store,
    hub: EventHub,
    run_id: str,
    on_event: Callable[[str], None],
    stop: asyncio.Event,
    after_seq: int = -1,
) -> None:
    """Call ``on_event`` for each event of the run, in order, until ``stop`` and drained.

    Events this process commits come from the hub's buffer; others (another process's cancel,
    decision or signal) from the database.
    """
    last = after_seq
    with hub.subscribe(store.url, run_id) as sub:
        while True:
            # Read ``stop`` before fetching: a fetch begun after it was set sees every event
            # committed before it, so an empty fetch then means everything was delivered.
            stopping = stop.is_set()
            buffered = sub.take(last)
            events: Sequence[StoredEvent | EventRow] = buffered or await store.reads.list_events(
                run_id, last, 500
            )
            for event in events:
                on_event(event.payload_json)
                last = event.seq
            if not events:
                if stopping:
                    return
                await sub.wait(0.25)


async def _begin(begin: Begin, scheduler: RunScheduler, run_id: str) -> None:
    try:
        await begin(scheduler)
    except RunAlreadyExists:
        raise CliError(
            f"RUN_EXISTS: run {run_id} already exists: add --resume to continue it, "
            "or leave out --run-id for a new run"
        ) from None
    except RunNotFound:
        raise CliError(
            f"RUN_NOT_FOUND: run {run_id} does not exist: list the runs with `smithers ps`"
        ) from None
    except RunInProgress as exc:
        raise CliError(
            f"RUN_IN_PROGRESS: {exc.message}: wait for it, cancel it with "
            f"`smithers cancel {run_id}`, or add --force to take it over"
        ) from None
    except WorkflowLoadError as exc:
        raise CliError(f"cannot load the run's workflow: {exc.message}") from None
    except InvalidRequest as exc:
        raise CliError(exc.message) from None


def _install_signal_handlers(
    scheduler: RunScheduler, store: Store, run_id: str, progress: Progress, interrupted: list[int]
) -> None:
    loop = asyncio.get_running_loop()

    def on_signal(code: int) -> None:
        if interrupted:
            sys.stderr.write("\nexiting now\n")
            sys.stderr.flush()
            os._exit(code)
        interrupted.append(code)
        progress.notice("cancelling the run (press Ctrl-C again to exit at once)")
        task = loop.create_task(scheduler.cancel_run(store, run_id))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    loop.add_signal_handler(signal.SIGINT, on_signal, EXIT_SIGINT)
    loop.add_signal_handler(signal.SIGTERM, on_signal, EXIT_SIGTERM)


def _remove_signal_handlers() -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(signum)


async def _until_stopped_elsewhere(
    store: Store,
    scheduler: RunScheduler,
    run_id: str,
    stop: asyncio.Event,
    stop_statuses: frozenset[str],
) -> None:
    """Return once the run, not executing here, has ended or waits for a human or a signal.

    Covers what the scheduler cannot tell: a run suspended at a timer that another process
    cancelled or finished meanwhile. Also returns when ``stop`` is set.
    """
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.5):
                await stop.wait()
        if stop.is_set() or run_id in scheduler.active:
            continue
        row = await store.reads.get_run(run_id)
        if row is None or row.status in stop_statuses:
            return


async def _wind_down(readers: list[asyncio.Task[None]]) -> None:
    """Let tasks that read the database return by themselves (their ``stop`` is set).

    Cancelling a task while it opens a database connection can leak that connection's
    thread, which then keeps the process from exiting; so they are cancelled only as a
    last resort.
    """
    pending = [task for task in readers if not task.done()]
    if pending:
        _, late = await asyncio.wait(pending, timeout=WIND_DOWN_S)
        for task in late:
            task.cancel()


async def _serve_until_signal(serving: Serving, interrupted: list[int]) -> None:
    """After the run: keep serving it until SIGINT or SIGTERM."""
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()

    def on_signal(code: int) -> None:
        interrupted.append(code)
        stopped.set()

    loop.add_signal_handler(signal.SIGINT, on_signal, EXIT_SIGINT)
    loop.add_signal_handler(signal.SIGTERM, on_signal, EXIT_SIGTERM)
    sys.stderr.write(f"still serving the run on {serving.url} (Ctrl-C to stop)\n")
    sys.stderr.flush()
    try:
        await stopped.wait()
    finally:
        _remove_signal_handlers()


async def run_in_foreground(
    store: Store,
    run_id: str,
    begin: Begin,
    *,
    resuming: bool,
    as_json: bool,
    serve: ServeConfig | None = None,
    sandbox: SandboxMode = "bwrap",
) -> int:
    """Start (or resume) the run with ``begin``, show progress, print the result; the exit code.

    With ``serve``, the run is also served over HTTP from this process, and serving goes on
    after the run ends until SIGINT/SIGTERM.
    """
    # Serving the run means its approve/deny routes must be able to continue it.
    scheduler = RunScheduler(auto_wake=serve is not None, recover=False, sandbox=sandbox)
    if sandbox == "none":
        sys.stderr.write(UNSANDBOXED_WARNING + "\n")
    stop = asyncio.Event()
    interrupted: list[int] = []
    readers: list[asyncio.Task[None]] = []
    waiter: asyncio.Task[RunOutcome] | None = None
    serving: Serving | None = None
    progress = make_progress(store, run_id)
    showing = False
    try:
        await scheduler.attach(store)
        await scheduler.start()
        after_seq = await store.reads.max_event_seq(run_id) if resuming else -1
        follower = asyncio.create_task(
            follow_events(store, scheduler.hub, run_id, progress.on_event, stop, after_seq)
        )
        readers.append(follower)
        stop_statuses = STOP_STATUSES if serve is None else SERVING_STOP_STATUSES
        waiter = asyncio.create_task(scheduler.wait(run_id, stop_statuses))
        await asyncio.sleep(0)
        await _begin(begin, scheduler, run_id)
        if serve is not None:
            serving = await start_serving(serve, scheduler, store, run_id)
            progress.notice(f"serving the run on {serving.url}")
        watcher = asyncio.create_task(
            _until_stopped_elsewhere(store, scheduler, run_id, stop, stop_statuses)
        )
        readers.append(watcher)
        progress.start()
        showing = True
        _install_signal_handlers(scheduler, store, run_id, progress, interrupted)
        await asyncio.wait([waiter, watcher], return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        await _wind_down(readers)
        showing = False
        await progress.close()
        fallback = waiter.result().status if waiter.done() else RunStatus.CANCELLED.value
        result = await run_result(store, run_id, fallback)
        hint = await suspension_hint(store, run_id, result["status"])
        if hint:
            sys.stderr.write(hint + "\n")
        style = style_for(sys.stdout)
        emit_result(result, as_json=as_json, human=lambda r: format_run_result(r, style))
        _remove_signal_handlers()
        if serving is not None and not interrupted:
            await _serve_until_signal(serving, interrupted)
        return interrupted[0] if interrupted else exit_code_for(result["status"])
    finally:
        if serving is not None:
            await serving.stop()
        stop.set()
        if waiter is not None:
            waiter.cancel()
        await _wind_down(readers)
        if showing:
            await progress.close()
        await scheduler.close()
        await store.close()
