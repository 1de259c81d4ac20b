"""RunScheduler: owns every run this process executes.

It starts and resumes runs (claiming them with a compare-and-set on the run row), cancels,
records decisions and signals (waking suspended runs), keeps heartbeats fresh, notices cancel
requests and foreign events for the runs it owns, claims runs whose owner died, wakes
suspended runs when their timer is due, and on shutdown interrupts (not cancels) its runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, replace
from typing import Any

from smithers import metrics, tracing
from smithers.authoring.loader import LoadedWorkflow
from smithers.engine import events as ev
from smithers.engine.attempts import error_json
from smithers.engine.claims import (
    check_output_tables,
    convert_input,
    load_stored,
    new_run_row,
    output_schemas_row,
    prepare_claim,
    run_config,
)
from smithers.engine.controls import RunControls
from smithers.engine.handles import RunHandle, is_active
from smithers.engine.hub import EventHub
from smithers.engine.ids import new_owner_id, new_run_id
from smithers.engine.limits import check_input
from smithers.engine.maintenance import Maintenance, MaintenanceTimes
from smithers.engine.outcomes import LoopEnd, RunOutcome
from smithers.engine.run_loop import RunLoop, now_ms
from smithers.engine.run_model import RunModel
from smithers.engine.run_options import RunConfig, StartOptions, stored_config
from smithers.engine.stores import StoreRegistry
from smithers.engine.wake_timers import WakeTimers
from smithers.errors import (
    RunInProgress,
    RunToResumeNotFound,
    SmithersError,
)
from smithers.statuses import FINAL, SUSPENDED, TERMINAL
from smithers.store.batch import Batch
from smithers.store.rows import RunRow, RunUpdate
from smithers.store.store import ExpectationFailed, Store
from smithers.tools.shell import SandboxMode

__all__ = ["RunScheduler", "StartOptions"]

log = logging.getLogger(__name__)

_LOOP_ONLY = (LoopEnd.INTERRUPTED, LoopEnd.LOST, LoopEnd.CRASHED)


@dataclass(eq=False)
class _Waiter:
    future: asyncio.Future[RunOutcome]
    until: frozenset[str]


class RunScheduler:
    """Executes runs in this process, coordinated with other processes through the database.

    Its parts: ``registry`` (the databases it uses), ``controls`` (cancel, decisions,
    signals), ``wake_timers`` (suspended runs due here) and ``maintenance`` (heartbeats,
    polls, recovery); the scheduler starts, claims and drives the runs themselves.
    """

    def __init__(
        self,
        *,
        owner_id: str | None = None,
        clock: Callable[[], int] = now_ms,
        auto_wake: bool = False,
        recover: bool | None = None,
        stale_after_ms: int = 15_000,
        heartbeat_interval: float = 1.0,
        poll_interval: float = 0.25,
        recovery_interval: float = 1.0,
        hub: EventHub | None = None,
        sandbox: SandboxMode = "bwrap",
    ) -> None:
        self.owner_id = owner_id or new_owner_id()
        self.clock = clock
        self.hub = hub or EventHub()
        self.sandbox: SandboxMode = sandbox
        """The bash tool's sandbox for the runs this process executes (``none``: unconfined)."""
        self.active: dict[str, RunHandle] = {}
        """Run id → handle of the runs this process executes now."""
        self.registry = StoreRegistry(self.hub)
        # what callers ask of the scheduler's parts, under the scheduler's name
        self.attach = self.registry.attach
        self.open_store = self.registry.open_store
        self.open_owning = self.registry.open_owning
        self._waiters: dict[str, list[_Waiter]] = {}
        self.wake_timers = WakeTimers(
            clock=clock,
            spawn=self.spawn,
            claim=self.try_claim,
            busy=lambda run_id: self._closing or run_id in self.active,
        )
        self.controls = RunControls(
            registry=self.registry,
            executing=self.active,
            claim=self.try_claim,
            wake_timers=self.wake_timers,
            clock=clock,
            auto_wake=auto_wake,
        )
        self.cancel_run = self.controls.cancel_run
        self.decide = self.controls.decide
        self.signal = self.controls.signal
        self.maintenance = Maintenance(
            owner_id=self.owner_id,
            clock=clock,
            executing=self.active,
            registry=self.registry,
            claim=self.try_claim,
            times=MaintenanceTimes(
                heartbeat_interval, poll_interval, recovery_interval, stale_after_ms
            ),
            recover=auto_wake if recover is None else recover,
        )
        self._maintenance: asyncio.Task[None] | None = None
        self._closing = False
        self._background: set[asyncio.Task[None]] = set()
        self._launch_listeners: list[Callable[[Store, str], None]] = []
        self._exit_listeners: list[Callable[[Store, str], None]] = []

    def add_launch_listener(self, listener: Callable[[Store, str], None]) -> None:
        """Call ``listener(store, run_id)`` whenever this process starts executing a run."""
        self._launch_listeners.append(listener)

    def add_exit_listener(self, listener: Callable[[Store, str], None]) -> None:
        """Call ``listener(store, run_id)`` whenever a run's loop in this process ends."""
        self._exit_listeners.append(listener)

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Start heartbeats, cancel polling and (with ``recover``) recovery scans."""
        if self._maintenance is None:
            self._maintenance = asyncio.create_task(
                self.maintenance.run(), name="smithers-maintenance"
            )

    async def close(self) -> None:
        """Interrupt every run this process executes (they stay ``running``), then stop."""
        self._closing = True
        self.wake_timers.clear()
        handles = list(self.active.values())
        for handle in handles:
            handle.loop.interrupt()
        tasks = [h.task for h in handles if h.task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._maintenance is not None:
            self._maintenance.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._maintenance
            self._maintenance = None

    # --- starting and resuming ---------------------------------------------------------------

    async def start_run(
        self,
        store: Store,
        loaded: LoadedWorkflow,
        *,
        input: dict[str, Any] | None = None,
        run_id: str | None = None,
        options: StartOptions = StartOptions(),
    ) -> str:
        """Create a run (committed before this returns) and execute it in the background."""
        await self.attach(store)
        raw_input = {} if input is None else input
        check_input(raw_input)
        input_value = convert_input(loaded, raw_input)
        await check_output_tables(store, loaded)
        now = self.clock()
        run_id = run_id or new_run_id(now)
        config = run_config(loaded, options, self.sandbox)
        trace = tracing.begin_run(run_id, loaded.workflow.name, options.traceparent)
        if trace is not None:
            options = replace(options, traceparent=trace.traceparent)
        row = new_run_row(
            run_id,
            loaded,
            owner=self.owner_id,
            now=now,
            config_json=stored_config(options, config),
            raw_input=raw_input,
        )
        batch = Batch(events=[ev.RunStarted(run_id=run_id, timestamp_ms=now)])
        schemas = output_schemas_row(run_id, loaded, now, fresh=True)
        if schemas is not None:
            batch.write(schemas)
        try:
            commit = await store.create_run(row, batch)
        except BaseException as exc:
            tracing.end_run(trace, "not_created", error_json(exc))
            raise
        model = RunModel(run_id)
        model.seen_seq = commit.last_seq
        self._launch(store, loaded, model, input_value, config, trace, fresh=True)
        return run_id

    async def resume_run(
        self,
        store: Store,
        run_id: str,
        loaded: LoadedWorkflow | None = None,
        *,
        options: StartOptions | None = None,
        force: bool = False,
    ) -> str:
        """Continue a run from its last checkpoint; returns ``"resumed"``, or ``"running"`` if it
        already runs here, or the status of a ``FINAL`` run (finished), which is left untouched.

        A cancelled run continues: its cancelled nodes get a fresh attempt, finished ones keep
        their outputs. A failed run grants each failed node one more attempt.

        Raises ``RunToResumeNotFound`` (code ``RUN_NOT_FOUND``) for an unknown id and
        ``RunInProgress`` when another live process executes it (unless ``force``).
        """
        await self.attach(store)
        if run_id in self.active:
            return "running"
        while True:
            row = await store.reads.get_run(run_id)
            if row is None:
                raise RunToResumeNotFound(run_id)
            if row.status in FINAL:
                return row.status
            if self.is_active(row) and not force:
                raise RunInProgress(f"Run {run_id} is running in process {row.runtime_owner_id}")
            if loaded is None:
                loaded = load_stored(row)
            if await self._claim(store, row, loaded, options):
                metrics.runs_resumed.inc()
                return "resumed"

    def is_active(self, row: RunRow) -> bool:
        """Whether a live process (this one, or one with a fresh heartbeat) executes ``row``."""
        return is_active(row, self.active, self.clock())

    @property
    def stores(self) -> list[Store]:
        """Every store this scheduler uses."""
        return self.registry.stores

    async def _claim(
        self,
        store: Store,
        row: RunRow,
        loaded: LoadedWorkflow,
        options: StartOptions | None,
    ) -> bool:
        """Take over ``row`` with a compare-and-set and execute it; False if someone else won."""
        claim = await prepare_claim(
            store, row, loaded, options, owner=self.owner_id, clock=self.clock, sandbox=self.sandbox
        )
        try:
            # The row's owner may have written since the state was read: then try again.
            commit = await store.commit(
                row.run_id,
                claim.change.batch,
                expect=claim.expect,
                expect_max_seq=claim.expect_max_seq,
            )
        except ExpectationFailed:
            return False
        trace = tracing.begin_run(row.run_id, loaded.workflow.name, claim.traceparent)
        claim.change.applied()
        model = claim.model
        model.seen_seq = commit.last_seq if commit.prior_max_seq == model.seen_seq else -1
        self._launch(store, loaded, model, claim.input_value, claim.config, trace)
        return True

    def _launch(
        self,
        store: Store,
        loaded: LoadedWorkflow,
        model: RunModel,
        input_value: Any,
        config: RunConfig,
        trace: tracing.RunTrace | None = None,
        *,
        fresh: bool = False,
    ) -> None:
        self.wake_timers.cancel(model.run_id)
        loop = RunLoop(
            fresh=fresh,
            store=store,
            loaded=loaded,
            model=model,
            input_value=input_value,
            config=config,
            owner=self.owner_id,
            clock=self.clock,
        )
        handle = RunHandle(model.run_id, store, loop, trace=trace)
        self.active[model.run_id] = handle
        metrics.runs_active.inc()
        handle.task = asyncio.create_task(self._drive(handle), name=f"run:{model.run_id}")
        for listener in self._launch_listeners:
            listener(store, model.run_id)

    async def _drive(self, handle: RunHandle) -> RunOutcome:
        started = self.clock()
        outcome = RunOutcome(LoopEnd.CRASHED)
        try:
            with tracing.running(handle.trace):
                outcome = await handle.loop.run()
        except Exception as exc:
            log.exception("run %s stopped unexpectedly", handle.run_id)
            outcome = RunOutcome(LoopEnd.CRASHED, error_json(exc))
            await self._release(handle)
        finally:
            self.active.pop(handle.run_id, None)
            metrics.runs_active.dec()
            tracing.end_run(handle.trace, outcome.status.value, outcome.error)
        if outcome.status in TERMINAL:
            metrics.run_duration_ms.observe(self.clock() - started)
        self._after_loop(handle, outcome)
        for listener in self._exit_listeners:
            listener(handle.store, handle.run_id)
        return outcome

    async def _release(self, handle: RunHandle) -> None:
        """Give up ownership after a crash so another process (or a later claim) continues."""
        released = RunUpdate(run_id=handle.run_id, runtime_owner_id=None, heartbeat_at_ms=None)
        batch = Batch(rows=[released])
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await handle.store.commit(handle.run_id, batch, owner=self.owner_id)

    def _after_loop(self, handle: RunHandle, outcome: RunOutcome) -> None:
        waiters = self._waiters.get(handle.run_id, [])
        for waiter in list(waiters):
            if outcome.status in waiter.until and not waiter.future.done():
                waiter.future.set_result(outcome)
                waiters.remove(waiter)
        if not waiters:
            self._waiters.pop(handle.run_id, None)
        if outcome.status in SUSPENDED and not self._closing:
            self.spawn(self.wake_timers.schedule(handle.store, handle.run_id))

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` in the background, keeping a reference until it ends."""
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def try_claim(self, store: Store, row: RunRow) -> bool:
        """Claim and continue ``row`` here; False if another process won or it cannot load."""
        try:
            loaded = load_stored(row)
            claimed = await self._claim(store, row, loaded, None)
        except (SmithersError, OSError) as exc:
            log.warning("run %s cannot be continued here: %s", row.run_id, exc)
            self.registry.skip(store, row.run_id, self.clock() + 60_000)
            return False
        if claimed:
            metrics.runs_resumed.inc()
        return claimed

    async def wait(
        self,
        run_id: str,
        until: Iterable[str] = (*TERMINAL, *SUSPENDED, *_LOOP_ONLY),
    ) -> RunOutcome:
        """Wait until a loop of ``run_id`` in this process ends with a status in ``until``."""
        future: asyncio.Future[RunOutcome] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(run_id, []).append(_Waiter(future, frozenset(until)))
        return await future
