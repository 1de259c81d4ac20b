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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import msgspec

from smithers import metrics
from smithers.authoring.loader import LoadedWorkflow, load_workflow
from smithers.authoring.nodes import ApprovalDecision
from smithers.engine import events as ev
from smithers.engine.decisions import record_decision, record_signal
from smithers.engine.hub import EventHub
from smithers.engine.ids import new_owner_id, new_run_id
from smithers.engine.limits import check_input
from smithers.engine.maintenance import Maintenance
from smithers.engine.outcomes import LoopEnd, RunOutcome
from smithers.engine.owning import usable_url
from smithers.engine.run_loop import RunConfig, RunLoop, now_ms
from smithers.engine.run_model import RunModel
from smithers.engine.run_options import StartOptions, options_from_config, stored_config
from smithers.engine.writes import Change
from smithers.errors import (
    InvalidRequest,
    RunInProgress,
    RunNotActive,
    RunNotFound,
    RunToResumeNotFound,
    SmithersError,
    WorkflowLoadError,
)
from smithers.statuses import FINAL, SUSPENDED, TERMINAL, NodeState, RunStatus
from smithers.store.batch import Batch
from smithers.store.outputs import output_table_for
from smithers.store.rows import RunRow
from smithers.store.store import ExpectationFailed, Store
from smithers.store.urls import database_identity

__all__ = ["ACTIVE_HEARTBEAT_MS", "RunHandle", "RunScheduler", "StartOptions"]

log = logging.getLogger(__name__)

_LOOP_ONLY = (LoopEnd.INTERRUPTED, LoopEnd.LOST, LoopEnd.CRASHED)

ACTIVE_HEARTBEAT_MS = 5_000
"""A ``running`` run whose heartbeat is at most this old is active (owned by a live process)."""


@dataclass(eq=False)
class RunHandle:
    """A run this process executes now."""

    run_id: str
    store: Store
    loop: RunLoop
    task: asyncio.Task[RunOutcome] | None = None


@dataclass(eq=False)
class _Waiter:
    future: asyncio.Future[RunOutcome]
    until: frozenset[str]


@dataclass
class StoreState:
    """A database this scheduler uses, and the runs its recovery scan leaves alone for now."""

    store: Store
    skip_until: dict[str, int] = field(default_factory=dict)
    """Run id → epoch ms before which a claim is not tried again (it failed here)."""


class RunScheduler:
    """Executes runs in this process, coordinated with other processes through the database."""

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
    ) -> None:
        self.owner_id = owner_id or new_owner_id()
        self.clock = clock
        self.auto_wake = auto_wake
        """Continue a suspended run at once when this process records what unblocks it."""
        self.recover = auto_wake if recover is None else recover
        """Also scan the databases for runs to claim: orphaned, woken elsewhere, or due."""
        self.stale_after_ms = stale_after_ms
        self.heartbeat_interval = heartbeat_interval
        self.poll_interval = poll_interval
        self.recovery_interval = recovery_interval
        self.hub = hub or EventHub()
        self.active: dict[str, RunHandle] = {}
        self.store_states: dict[str, StoreState] = {}
        self._waiters: dict[str, list[_Waiter]] = {}
        self._wake_timers: dict[str, asyncio.TimerHandle] = {}
        self._maintenance: asyncio.Task[None] | None = None
        self._closing = False
        self._background: set[asyncio.Task[None]] = set()
        self._launch_listeners: list[Callable[[Store, str], None]] = []
        self._exit_listeners: list[Callable[[Store, str], None]] = []

    # --- stores ------------------------------------------------------------------------------

    async def attach(self, store: Store) -> Store:
        """Use ``store`` (schema ensured, events published to the hub and metrics)."""
        # Keyed by identity: URLs that differ only in their password share one store.
        known = self.store_states.get(store.identity)
        if known is not None:
            return known.store
        await store.ensure_schema()
        store.add_listener(self.hub.publisher(store.url))
        store.add_listener(metrics.track_events)
        self.store_states[store.identity] = StoreState(store)
        return store

    async def open_store(self, url: str) -> Store:
        """The attached store for ``url``, opened on first use."""
        known = self.store_states.get(database_identity(url))
        if known is not None:
            return known.store
        store = Store.open(url)
        try:
            return await self.attach(store)
        except BaseException:
            await store.close()  # its connection pool, which nothing else would ever close
            raise

    async def open_owning(self, db_url: str, workflow_path: str | None) -> Store:
        """The store of a mirrored run's own database, named by its password-free ``db_url``."""
        known = self.store_states.get(database_identity(db_url))
        if known is not None:
            return known.store
        return await self.open_store(await usable_url(db_url, workflow_path))

    def add_launch_listener(self, listener: Callable[[Store, str], None]) -> None:
        """Call ``listener(store, run_id)`` whenever this process starts executing a run."""
        self._launch_listeners.append(listener)

    def add_exit_listener(self, listener: Callable[[Store, str], None]) -> None:
        """Call ``listener(store, run_id)`` whenever a run's loop in this process ends."""
        self._exit_listeners.append(listener)

    @property
    def stores(self) -> list[Store]:
        """Every store this scheduler uses."""
        return [s.store for s in self.store_states.values()]

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Start heartbeats, cancel polling and (with ``recover``) recovery scans."""
        if self._maintenance is None:
            duties = Maintenance(self)
            self._maintenance = asyncio.create_task(duties.run(), name="smithers-maintenance")

    async def close(self) -> None:
        """Interrupt every run this process executes (they stay ``running``), then stop."""
        self._closing = True
        for timer in self._wake_timers.values():
            timer.cancel()
        self._wake_timers.clear()
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
        input_value = _convert_input(loaded, raw_input)
        await _check_output_tables(store, loaded)
        now = self.clock()
        run_id = run_id or new_run_id(now)
        config = self._config(loaded, options)
        row = {
            "run_id": run_id,
            "workflow_name": loaded.workflow.name,
            "workflow_path": str(loaded.path),
            "workflow_hash": loaded.hash,
            "status": RunStatus.RUNNING.value,
            "created_at_ms": now,
            "started_at_ms": now,
            "heartbeat_at_ms": now,
            "runtime_owner_id": self.owner_id,
            "config_json": stored_config(options, config),
            "input_json": msgspec.json.encode(raw_input).decode(),
            "updated_at_ms": now,
        }
        batch = Batch(events=[ev.RunStarted(run_id=run_id, timestamp_ms=now)])
        commit = await store.create_run(row, batch)
        model = RunModel(run_id)
        model.seen_seq = commit.last_seq
        self._launch(store, loaded, model, input_value, config)
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
                loaded = _load_stored(row)
            if await self._claim(store, row, loaded, options):
                metrics.runs_resumed.inc()
                return "resumed"

    def is_active(self, row: RunRow) -> bool:
        """Whether a live process (this one, or one with a fresh heartbeat) executes ``row``."""
        if row.status != RunStatus.RUNNING:
            return False
        if row.run_id in self.active:
            return True
        if row.runtime_owner_id is None or row.heartbeat_at_ms is None:
            return False
        return self.clock() - row.heartbeat_at_ms <= ACTIVE_HEARTBEAT_MS

    async def _claim(
        self,
        store: Store,
        row: RunRow,
        loaded: LoadedWorkflow,
        options: StartOptions | None,
    ) -> bool:
        """Take over ``row`` with a compare-and-set and execute it; False if someone else won.

        The compare-and-set expects the status read in ``row``: a run that ended meanwhile
        (finished in another process) is never re-entered.
        """
        assert row.status not in FINAL, "a finished run is never claimed"
        raw_input = msgspec.json.decode(row.input_json) if row.input_json else {}
        input_value = _convert_input(loaded, raw_input)
        await _check_output_tables(store, loaded)
        state = await store.reads.load_state(row.run_id)
        if state is None:
            raise RunToResumeNotFound(row.run_id)
        model = RunModel.from_state(state, (*loaded.struct_types, ApprovalDecision))
        now = self.clock()
        stored_options = options_from_config(row.config_json)
        if options is not None and options.max_concurrency is not None:
            stored_options = replace(stored_options, max_concurrency=options.max_concurrency)
        config = self._config(loaded, stored_options)
        change = Change(model, now)
        change.stop_attempts("interrupted", node_state=NodeState.PENDING)
        if row.status == RunStatus.FAILED:
            for info in model.nodes.values():
                if info.state == NodeState.FAILED:
                    info.extra_attempts += 1
                    change.set_node(info, NodeState.FAILED)
        change.batch.run_update.update(
            status=RunStatus.RUNNING.value,
            runtime_owner_id=self.owner_id,
            heartbeat_at_ms=now,
            started_at_ms=row.started_at_ms or now,
            finished_at_ms=None,
            error_json=None,
            cancel_requested_at_ms=None,
            wake_at_ms=None,
            updated_at_ms=now,
            workflow_name=loaded.workflow.name,
            workflow_path=str(loaded.path),
            workflow_hash=loaded.hash,
            config_json=stored_config(stored_options, config),
        )
        change.emit(ev.RunStarted(run_id=row.run_id, timestamp_ms=now))
        expect = {
            "status": row.status,
            "runtime_owner_id": row.runtime_owner_id,
            "heartbeat_at_ms": row.heartbeat_at_ms,
            "wake_at_ms": row.wake_at_ms,
        }
        try:
            # The row's owner may have written since the state was read: then try again.
            commit = await store.commit(
                row.run_id, change.batch, expect=expect, expect_max_seq=state.max_seq
            )
        except ExpectationFailed:
            return False
        change.applied()
        model.seen_seq = commit.last_seq if commit.prior_max_seq == model.seen_seq else -1
        self._launch(store, loaded, model, input_value, config)
        return True

    def _config(self, loaded: LoadedWorkflow, options: StartOptions) -> RunConfig:
        return RunConfig(
            max_concurrency=options.max_concurrency or loaded.workflow.max_concurrency,
            root_dir=options.root_dir or loaded.path.parent,
            allow_network=options.allow_network,
        )

    def _launch(
        self,
        store: Store,
        loaded: LoadedWorkflow,
        model: RunModel,
        input_value: Any,
        config: RunConfig,
    ) -> None:
        timer = self._wake_timers.pop(model.run_id, None)
        if timer is not None:
            timer.cancel()
        loop = RunLoop(
            store=store,
            loaded=loaded,
            model=model,
            input_value=input_value,
            config=config,
            owner=self.owner_id,
            clock=self.clock,
        )
        handle = RunHandle(model.run_id, store, loop)
        self.active[model.run_id] = handle
        metrics.runs_active.inc()
        handle.task = asyncio.create_task(self._drive(handle), name=f"run:{model.run_id}")
        for listener in self._launch_listeners:
            listener(store, model.run_id)

    async def _drive(self, handle: RunHandle) -> RunOutcome:
        started = self.clock()
        try:
            outcome = await handle.loop.run()
        except Exception as exc:
            log.exception("run %s stopped unexpectedly", handle.run_id)
            outcome = RunOutcome(LoopEnd.CRASHED, {"name": type(exc).__name__, "message": str(exc)})
            await self._release(handle)
        finally:
            self.active.pop(handle.run_id, None)
            metrics.runs_active.dec()
        if outcome.status in TERMINAL:
            metrics.run_duration_ms.observe(self.clock() - started)
        self._after_loop(handle, outcome)
        for listener in self._exit_listeners:
            listener(handle.store, handle.run_id)
        return outcome

    async def _release(self, handle: RunHandle) -> None:
        """Give up ownership after a crash so another process (or a later claim) continues."""
        batch = Batch(run_update={"runtime_owner_id": None, "heartbeat_at_ms": None})
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
            self.spawn(self._schedule_wake(handle.store, handle.run_id))

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` in the background, keeping a reference until it ends."""
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _schedule_wake(self, store: Store, run_id: str) -> None:
        row = await store.reads.get_run(run_id)
        if row is None or row.status not in SUSPENDED or row.wake_at_ms is None:
            return
        delay = max(0.0, (row.wake_at_ms - self.clock()) / 1000)
        loop = asyncio.get_running_loop()
        self._wake_timers[run_id] = loop.call_later(
            delay, lambda: self.spawn(self._wake_due(store, run_id))
        )

    async def _wake_due(self, store: Store, run_id: str) -> None:
        self._wake_timers.pop(run_id, None)
        if self._closing or run_id in self.active:
            return
        row = await store.reads.get_run(run_id)
        if row is None or row.status not in SUSPENDED or row.wake_at_ms is None:
            return
        if row.wake_at_ms > self.clock():
            await self._schedule_wake(store, run_id)
            return
        await self.try_claim(store, row)

    async def try_claim(self, store: Store, row: RunRow) -> bool:
        """Claim and continue ``row`` here; False if another process won or it cannot load."""
        try:
            loaded = _load_stored(row)
            claimed = await self._claim(store, row, loaded, None)
        except (SmithersError, OSError) as exc:
            log.warning("run %s cannot be continued here: %s", row.run_id, exc)
            state = self.store_states.get(store.identity)
            if state is not None:
                state.skip_until[row.run_id] = self.clock() + 60_000
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

    # --- cancel, decisions, signals ----------------------------------------------------------

    async def cancel_run(self, store: Store, run_id: str) -> None:
        """Cancel a run: at once when suspended or orphaned, through its owner when active."""
        await self.attach(store)
        while True:
            row = await store.reads.get_run(run_id)
            if row is None:
                raise RunNotFound(run_id)
            if row.status in TERMINAL:
                raise RunNotActive()
            handle = self.active.get(run_id)
            if handle is not None or self.is_active(row):
                now = self.clock()
                batch = Batch(run_update={"cancel_requested_at_ms": now, "updated_at_ms": now})
                try:
                    await store.commit(run_id, batch, expect={"status": RunStatus.RUNNING.value})
                except ExpectationFailed:
                    continue
                if handle is not None:
                    handle.loop.cancel()
                return
            if await self._cancel_directly(store, row):
                return

    async def _cancel_directly(self, store: Store, row: RunRow) -> bool:
        state = await store.reads.load_state(row.run_id)
        if state is None:
            raise RunNotFound(row.run_id)
        model = RunModel.from_state(state, ())
        change = Change(model, self.clock())
        change.cancel_run()
        expect = {
            "status": row.status,
            "runtime_owner_id": row.runtime_owner_id,
            "heartbeat_at_ms": row.heartbeat_at_ms,
        }
        try:
            await store.commit(
                row.run_id, change.batch, expect=expect, expect_max_seq=state.max_seq
            )
        except ExpectationFailed:
            return False
        timer = self._wake_timers.pop(row.run_id, None)
        if timer is not None:
            timer.cancel()
        return True

    async def decide(
        self,
        store: Store,
        run_id: str,
        node_id: str,
        iteration: int,
        *,
        approved: bool,
        note: str | None = None,
        decided_by: str | None = None,
    ) -> str:
        """Approve or deny a waiting node; returns ``"approved"`` or ``"denied"``."""
        await self.attach(store)
        woken = await record_decision(
            store, run_id, node_id, iteration, approved, note, decided_by, self.clock()
        )
        await self._after_external(store, run_id, woken)
        return "approved" if approved else "denied"

    async def signal(
        self,
        store: Store,
        run_id: str,
        name: str,
        data: Any,
        *,
        correlation_id: str | None = None,
        received_by: str | None = None,
    ) -> dict[str, Any]:
        """Store a signal for a run; wakes it when a node waits for it."""
        await self.attach(store)
        result = await record_signal(
            store, run_id, name, data, correlation_id, received_by, self.clock()
        )
        await self._after_external(store, run_id, bool(result.pop("woken")))
        return result

    async def _after_external(self, store: Store, run_id: str, woken: bool) -> None:
        handle = self.active.get(run_id)
        if handle is not None:
            handle.loop.wake(refresh=True)
        elif woken and self.auto_wake:
            row = await store.reads.get_run(run_id)
            if row is not None and row.status == RunStatus.RUNNING and row.runtime_owner_id is None:
                await self.try_claim(store, row)


def _convert_input(loaded: LoadedWorkflow, raw: dict[str, Any]) -> Any:
    try:
        return loaded.workflow.convert_input(raw)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(str(exc)) from exc


async def _check_output_tables(store: Store, loaded: LoadedWorkflow) -> None:
    """Existing output tables of the module's Structs must fit them (else WORKFLOW_LOAD_FAILED)."""
    candidates: list[type[msgspec.Struct]] = [*loaded.struct_types, ApprovalDecision]
    for struct_type in candidates:
        if struct_type is loaded.workflow.input_type:
            continue
        try:
            table = output_table_for(struct_type)
        except WorkflowLoadError:
            continue  # not usable as an output type (e.g. a nested helper Struct)
        await store.ensure_output_table(table, create=False)


def _load_stored(row: RunRow) -> LoadedWorkflow:
    if not row.workflow_path:
        raise WorkflowLoadError(f"run {row.run_id} has no stored workflow path")
    return load_workflow(Path(row.workflow_path))
