"""What callers ask of runs from outside their loops: cancel, approve or deny, signal.

``RunControls`` is a part of ``RunScheduler``: it records the request in the database and
wakes the run's loop when this process executes it, or claims a suspended run it unblocked
when the scheduler continues runs by itself (``auto_wake``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from smithers.engine.decisions import SignalReceipt, record_decision, record_signal
from smithers.engine.run_model import RunModel
from smithers.engine.tool_log import interrupt_open_calls
from smithers.engine.wake_timers import WakeTimers
from smithers.engine.writes import Change
from smithers.errors import RunNotActive, RunNotFound
from smithers.statuses import TERMINAL, RunStatus
from smithers.store.batch import Batch
from smithers.store.rows import RunRow
from smithers.store.store import ExpectationFailed, Store

__all__ = ["RunControls"]


class RunControls:
    """Cancel, decisions and signals; the rest of the scheduler provides what they need."""

    active: dict[str, Any]
    """Run id → handle of the runs this process executes (``RunHandle``)."""
    auto_wake: bool
    clock: Callable[[], int]
    wake_timers: WakeTimers

    async def attach(self, store: Store) -> Store:  # pragma: no cover - provided by the scheduler
        raise NotImplementedError

    def is_active(self, row: RunRow) -> bool:  # pragma: no cover - provided by the scheduler
        raise NotImplementedError

    async def try_claim(self, store: Store, row: RunRow) -> bool:  # pragma: no cover
        raise NotImplementedError

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
    ) -> SignalReceipt:
        """Store a signal for a run; wakes it when a node waits for it."""
        await self.attach(store)
        receipt = await record_signal(
            store, run_id, name, data, correlation_id, received_by, self.clock()
        )
        await self._after_external(store, run_id, receipt.woken)
        return receipt

    async def _after_external(self, store: Store, run_id: str, woken: bool) -> None:
        handle = self.active.get(run_id)
        if handle is not None:
            handle.loop.wake(refresh=True)
        elif woken and self.auto_wake:
            row = await store.reads.get_run(run_id)
            if row is not None and row.status == RunStatus.RUNNING and row.runtime_owner_id is None:
                await self.try_claim(store, row)
