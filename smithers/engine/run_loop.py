"""One run: render → frame → states → schedule → execute → persist, until it ends or suspends.

The loop owns the run while it executes: every write is guarded by the owner id, so a process
that lost the run stops at its next write. Attempts run as child asyncio tasks; each commits
its own end. External changes (decisions, signals, cancel) arrive as wake-ups and are re-read
from the store; suspending checks that no event was appended since they were last read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from smithers.authoring.loader import LoadedWorkflow
from smithers.engine import wait_writes as waits
from smithers.engine.attempt_runner import AttemptRunner
from smithers.engine.attempts import error_json
from smithers.engine.outcomes import LoopEnd, RunOutcome
from smithers.engine.refresh import read_external
from smithers.engine.rendering import RenderCache
from smithers.engine.run_commits import RunCommits
from smithers.engine.run_model import Key, RunModel
from smithers.engine.run_options import RunConfig
from smithers.engine.schedule import Progress, Schedule, plan_schedule
from smithers.engine.side_channel import RunningAttempt
from smithers.engine.states import FINISHED, Action, Verdict, lasting, verdict
from smithers.engine.tree import Leaf
from smithers.engine.wakeup import Wakeup
from smithers.engine.writes import Change
from smithers.errors import LoopMaxReached, OwnershipLost
from smithers.statuses import NodeState, RunStatus
from smithers.store.rows import RunUpdate
from smithers.store.store import ExpectationFailed, Store

__all__ = ["RunLoop", "now_ms"]

log = logging.getLogger(__name__)

_PERSISTED = frozenset({NodeState.PENDING, NodeState.SKIPPED, NodeState.FINISHED, NodeState.FAILED})


def now_ms() -> int:
    """Wall-clock epoch milliseconds."""
    return time.time_ns() // 1_000_000


class RunLoop:
    """Executes one run until it finishes, fails, is cancelled, suspends, or is interrupted."""

    def __init__(
        self,
        *,
        store: Store,
        loaded: LoadedWorkflow,
        model: RunModel,
        input_value: Any,
        config: RunConfig,
        owner: str,
        clock: Callable[[], int] = now_ms,
        fresh: bool = False,
    ) -> None:
        """``fresh``: the run was created just now with ``model``, so there is nothing another
        writer could have decided yet to read first (a claimed run reads its decisions and
        signals before its first pass)."""
        self.store = store
        self.loaded = loaded
        self.model = model
        self.run_id = model.run_id
        self.input = input_value
        self.config = config
        self.owner = owner
        self.clock = clock
        self.running: dict[Key, RunningAttempt] = {}
        self.needs_refresh = not fresh
        self.cancel_requested = False
        self.interrupt_requested = False
        self.lost = False
        self.ready_signals: dict[Key, tuple[Any, int]] = {}
        self._wake = Wakeup()
        self.commits = RunCommits(
            store=store,
            model=model,
            owner=owner,
            running=self.running,
            clock=clock,
            on_foreign_events=self._refresh_later,
            on_lost=self.lose,
        )
        self.attempts = AttemptRunner(
            store=store,
            model=model,
            input_value=input_value,
            config=config,
            side=self.commits.side,
            running=self.running,
            on_end=self._wake.set,
            workflow_dir=loaded.path.parent,
        )
        self.renders = RenderCache(loaded.workflow, model, input_value)
        self._progress = Progress()

    # --- control from the scheduler ------------------------------------------------------

    def wake(self, *, refresh: bool = False) -> None:
        """Run another pass soon (``refresh``: re-read decisions and signals first)."""
        if refresh:
            self.needs_refresh = True
        self._wake.set()

    def cancel(self) -> None:
        """Cancel the run: running attempts stop, the run ends ``cancelled``."""
        self.cancel_requested = True
        self._wake.set()

    def interrupt(self) -> None:
        """Stop executing but leave the run ``running`` for another process to continue."""
        self.interrupt_requested = True
        self._wake.set()

    def lose(self) -> None:
        """Another process owns the run: stop at once and write nothing more."""
        self.lost = True
        self._wake.set()

    def _refresh_later(self) -> None:
        self.needs_refresh = True

    # --- the loop --------------------------------------------------------------------------

    async def run(self) -> RunOutcome:
        """Execute until the run ends or suspends; never raises for user-code failures."""
        try:
            return await self._run()
        except OwnershipLost:
            self.lost = True
            return RunOutcome(LoopEnd.LOST)
        finally:
            self._wake.close()
            await self.attempts.stop()

    async def _run(self) -> RunOutcome:
        while True:
            if self.lost:
                return RunOutcome(LoopEnd.LOST)
            if self.attempts.crashed is not None:
                raise self.attempts.crashed
            if self.cancel_requested:
                return await self._finish_cancel()
            if self.interrupt_requested:
                return await self._finish_interrupt()
            self._wake.clear()
            if self.needs_refresh:
                await self._refresh()
            now = self.clock()
            change = Change(self.model, now)
            self.attempts.drain(change)
            try:
                rendered = self.renders.render()
            except Exception as exc:  # the build function failed: the run fails with its error
                return await self._fail_run(change, error_json(exc))
            self.renders.add_frame(change, rendered)
            self._progress = self._progress.of(rendered)
            schedule = plan_schedule(
                rendered,
                partial(self._verdict, now=now),
                self.running.keys(),
                self.config.max_concurrency,
                self._progress,
            )
            if await self._apply_actions(change, schedule):
                continue  # outputs may have changed: render again
            if schedule.ready_loops:
                loop_error = self._advance_loops(change, schedule)
                if loop_error is not None:
                    return await self._fail_run(change, loop_error)
                await self.commits.commit(change)
                continue
            started = self._persist_states(change, schedule)
            if self.running or started:
                if change.batch:
                    await self.commits.commit(change)
                for item in started:
                    self.attempts.launch(item)
                await self._wait(schedule.wake_at_ms)
                continue
            if schedule.retry_waiting:
                if change.batch:
                    await self.commits.commit(change)
                await self._wait(schedule.wake_at_ms)
                continue
            outcome = await self._conclude(change, schedule)
            if outcome is not None:
                return outcome

    # --- pass steps ------------------------------------------------------------------------

    def _verdict(self, leaf: Leaf, now: int) -> Verdict:
        info = self.model.node(leaf.id, leaf.iteration)
        has_output = self.model.outputs.has(leaf.id, leaf.iteration)
        if has_output and not (leaf.kind == "task" and leaf.node.skip_if):  # type: ignore[union-attr]
            return lasting(leaf, info, FINISHED)
        found = verdict(
            leaf,
            info,
            self.model.approvals.get(leaf.key),
            has_output=has_output,
            signal_ready=leaf.key in self.ready_signals,
            now=now,
        )
        return lasting(leaf, info, found)

    async def _apply_actions(self, change: Change, schedule: Schedule) -> bool:
        """Write what reached nodes need (approval requests, timers, signal waits...)."""
        acted = False
        signal_seq: int | None = None
        for leaf, leaf_verdict in schedule.visited:
            action = leaf_verdict.action
            if action is None:
                continue
            info = self.model.node(leaf.id, leaf.iteration)
            latest = info.latest
            acted = True
            if action is Action.REQUEST_APPROVAL:
                waits.request_approval(change, leaf, info)
            elif action is Action.DENY_GATE:
                waits.deny_gate(change, leaf, info, leaf_verdict.state)
            elif action is Action.RESOLVE_APPROVAL:
                waits.resolve_approval(change, leaf, info, self.model.approvals[leaf.key])
            elif action is Action.START_TIMER:
                waits.start_timer(change, leaf, info)
            elif action is Action.FIRE_TIMER and latest is not None:
                waits.fire_timer(change, info, latest)
            elif action is Action.START_WAIT:
                if signal_seq is None:
                    signal_seq = await self.store.reads.max_signal_seq(self.run_id)
                waits.start_wait(change, leaf, info, signal_seq)
            elif action is Action.RESOLVE_SIGNAL and latest is not None:
                payload, seq = self.ready_signals.pop(leaf.key)
                waits.resolve_signal(change, leaf, info, latest, payload, seq)
            elif action is Action.TIMEOUT_SIGNAL and latest is not None:
                waits.time_out_signal(change, leaf, info, latest)
        if acted:
            await self.commits.commit(change)
        return acted

    def _advance_loops(self, change: Change, schedule: Schedule) -> dict[str, Any] | None:
        """Move ready loops to their next iteration or mark them done; an error ends the run."""
        for loop in schedule.ready_loops:
            iteration, done = loop.iteration, False
            if loop.until:
                done = True
            elif loop.iteration + 1 < loop.max_iterations:
                iteration = loop.iteration + 1
            elif loop.on_max_reached == "fail":
                return LoopMaxReached(
                    f"loop {loop.id!r} reached max_iterations={loop.max_iterations}"
                ).to_json()
            else:
                done = True
            change.set_loop(loop.id, iteration, done, was=loop.iteration)
        return None

    def _persist_states(self, change: Change, schedule: Schedule) -> list[RunningAttempt]:
        """Write the state changes of reached nodes and start the runnable ones."""
        runnable = {leaf.key for leaf in schedule.runnable}
        started: list[RunningAttempt] = []
        for leaf, v in schedule.visited:  # document order, so events read in tree order
            info = self.model.node(leaf.id, leaf.iteration)
            if leaf.key in runnable:
                attempt = change.start_attempt(
                    leaf, info, announce_pending=info.state != NodeState.PENDING.value
                )
                started.append(RunningAttempt(leaf, info, attempt))
            elif v.action is None and v.state.value != info.state and v.state in _PERSISTED:
                quiet = v.retry_wait or v.state in (NodeState.FINISHED, NodeState.FAILED)
                change.transition(leaf, info, v.state, quiet=quiet)
        return started

    async def _conclude(self, change: Change, schedule: Schedule) -> RunOutcome | None:
        status: RunStatus | None = None
        if schedule.waiting_approval:
            status = RunStatus.WAITING_APPROVAL
        elif schedule.waiting_event:
            status = RunStatus.WAITING_EVENT
        elif schedule.waiting_timer:
            status = RunStatus.WAITING_TIMER
        if status is not None:
            # ends already shown to renders must be written whatever happens next
            if change.carries_ends:
                await self.commits.commit(change)
                change = Change(self.model, change.now)
            if self.needs_refresh:
                return None
            change.suspend(status, schedule.wake_at_ms)
            try:
                await self.commits.commit(
                    change,
                    expect={"cancel_requested_at_ms": None},
                    expect_max_seq=self.model.seen_seq,
                )
            except ExpectationFailed as exc:
                # A decision, signal or cancel arrived meanwhile: look again instead.
                self.needs_refresh = True
                if exc.run.get("cancel_requested_at_ms") is not None:
                    self.cancel_requested = True
                return None
            return RunOutcome(LoopEnd.of(status))
        if schedule.failed:
            ids = ", ".join(leaf.id for leaf in schedule.failed)
            return await self._fail_run(change, f"Task(s) failed: {ids}")
        if schedule.blocked:
            reasons = "; ".join(f"{leaf.id} {why}" for leaf, why in schedule.blocked)
            return await self._fail_run(change, f"Task(s) blocked: {reasons}")
        return await self._end(change, RunStatus.FINISHED)

    async def _end(self, change: Change, status: RunStatus, error: Any = None) -> RunOutcome:
        change.end_run(status, error=error)
        await self.commits.commit(change)
        return RunOutcome(LoopEnd.of(status), error)

    async def _fail_run(self, change: Change, error: Any) -> RunOutcome:
        await self.attempts.stop()
        self.attempts.drain(change)
        change.stop_attempts("run-failed", node_state=NodeState.CANCELLED)
        return await self._end(change, RunStatus.FAILED, error)

    async def _finish_cancel(self) -> RunOutcome:
        await self.attempts.stop()
        change = Change(self.model, self.clock())
        self.attempts.drain(change)  # attempts that completed keep their outputs
        change.cancel_run()
        await self.commits.commit(change)
        return RunOutcome(LoopEnd.CANCELLED)

    async def _finish_interrupt(self) -> RunOutcome:
        await self.attempts.stop()
        change = Change(self.model, self.clock())
        self.attempts.drain(change)
        change.stop_attempts("interrupted", node_state=NodeState.PENDING)
        change.batch.write(
            RunUpdate(
                run_id=self.run_id,
                runtime_owner_id=None,
                heartbeat_at_ms=None,
                updated_at_ms=change.now,
            )
        )
        await self.commits.commit(change)
        return RunOutcome(LoopEnd.INTERRUPTED)

    # --- waiting and refreshing ----------------------------------------------------------

    async def _wait(self, wake_at_ms: int | None) -> None:
        timeout = None if wake_at_ms is None else max(0.0, (wake_at_ms - self.clock()) / 1000)
        await self._wake.wait(timeout)

    async def _refresh(self) -> None:
        """Re-read what other writers change: approvals and signals."""
        self.needs_refresh = False
        self.ready_signals = await read_external(self.store, self.model)
