"""The timers that continue this process's suspended runs when their wake time is due."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from smithers.statuses import SUSPENDED
from smithers.store.rows import RunRow
from smithers.store.store import Store

__all__ = ["WakeTimers"]


class WakeTimers:
    """One timer per suspended run with a wake time (a ``Timer`` node, a timed-out wait)."""

    def __init__(
        self,
        *,
        clock: Callable[[], int],
        spawn: Callable[[Coroutine[Any, Any, None]], None],
        claim: Callable[[Store, RunRow], Awaitable[bool]],
        busy: Callable[[str], bool],
    ) -> None:
        self.clock = clock
        self.spawn = spawn
        self.claim = claim
        """Continue the run here (the scheduler's ``try_claim``)."""
        self.busy = busy
        """Whether the run must not be woken here now (it runs here, or the process stops)."""
        self._timers: dict[str, asyncio.TimerHandle] = {}

    async def schedule(self, store: Store, run_id: str) -> None:
        """Arm the run's timer for its stored wake time (nothing if it has none)."""
        row = await store.reads.get_run(run_id)
        if row is None or row.status not in SUSPENDED or row.wake_at_ms is None:
            return
        delay = max(0.0, (row.wake_at_ms - self.clock()) / 1000)
        loop = asyncio.get_running_loop()
        self.cancel(run_id)
        self._timers[run_id] = loop.call_later(delay, lambda: self.spawn(self._due(store, run_id)))

    def cancel(self, run_id: str) -> None:
        """Disarm the run's timer (it continues, or something else woke it)."""
        timer = self._timers.pop(run_id, None)
        if timer is not None:
            timer.cancel()

    def clear(self) -> None:
        """Disarm every timer (the process stops)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    async def _due(self, store: Store, run_id: str) -> None:
        self._timers.pop(run_id, None)
        if self.busy(run_id):
            return
        row = await store.reads.get_run(run_id)
        if row is None or row.status not in SUSPENDED or row.wake_at_ms is None:
            return
        if row.wake_at_ms > self.clock():
            await self.schedule(store, run_id)
            return
        await self.claim(store, row)
