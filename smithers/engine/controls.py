"""What callers ask of runs from outside their loops: cancel, approve or deny, signal.

``RunControls`` is a part of ``RunScheduler``: it records the request in the database and
wakes the run's loop when this process executes it, or claims a suspended run it unblocked
when the scheduler continues runs by itself (``auto_wake``). What it needs of the scheduler
(its stores, the runs it executes, claiming) is given to it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from smithers.engine.decisions import SignalReceipt, record_decision, record_signal
from smithers.engine.handles import RunHandle, is_active
from smithers.engine.run_model import RunModel
from smithers.engine.stores import StoreRegistry
from smithers.engine.tool_log import interrupt_open_calls
from smithers.engine.wake_timers import WakeTimers
from smithers.engine.writes import Change
from smithers.errors import RunNotActive, RunNotFound
from smithers.statuses import TERMINAL, RunStatus
from smithers.store.batch import Batch
from smithers.store.rows import RunRow, RunUpdate
from smithers.store.store import ExpectationFailed, Store

__all__ = ["RunControls"]


@dataclass(kw_only=True, eq=False)
class RunControls:
    """Cancel, decisions and signals of the runs in a scheduler's stores."""

    registry: StoreRegistry
    executing: Mapping[str, RunHandle]
    """Run id → handle of the runs this process executes."""
    claim: Callable[[Store, RunRow], Awaitable[bool]]
    """Continue a run here (the scheduler's ``try_claim``)."""
    wake_timers: WakeTimers
    clock: Callable[[], int]
    auto_wake: bool
    """Continue a suspended run at once when this process records what unblocks it."""

    async def cancel_run(self, store: Store, run_id: str) -> None:
        """Cancel a run: at once when suspended or orphaned, through its owner when active."""
        await self.registry.attach(store)
        while True:
            row = await store.reads.get_run(run_id)
            if row is None:
                raise RunNotFound(run_id)
            if row.status in TERMINAL:
                raise RunNotActive()
            handle = self.executing.get(run_id)
            if handle is not None or is_active(row, self.executing, self.clock()):
                now = self.clock()
                request = RunUpdate(run_id=run_id, cancel_requested_at_ms=now, updated_at_ms=now)
                batch = Batch(rows=[request])
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
        interrupt_open_calls(change, state.open_tool_calls)  # their owner died during them
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
        self.wake_timers.cancel(row.run_id)
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
        await self.registry.attach(store)
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
    ) -> SignalReceipt:
        """Store a signal for a run; wakes it when a node waits for it."""
        await self.registry.attach(store)
        receipt = await record_signal(
            store, run_id, name, data, correlation_id, received_by, self.clock()
        )
        await self._after_external(store, run_id, receipt.woken)
        return receipt

    async def _after_external(self, store: Store, run_id: str, woken: bool) -> None:
        handle = self.executing.get(run_id)
        if handle is not None:
            handle.loop.wake(refresh=True)
        elif woken and self.auto_wake:
            row = await store.reads.get_run(run_id)
            if row is not None and row.status == RunStatus.RUNNING and row.runtime_owner_id is None:
                await self.claim(store, row)
