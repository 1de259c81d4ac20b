"""Mirroring: copy runs that live in a workflow's own database into the server database.

Batched (every ~100 ms), ordered, idempotent: the run row, node rows, approvals, and every
event with the same ``seq`` numbers. A run is flushed completely when its loop ends and on
shutdown, then dropped from the tracked set until the server touches it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from smithers.store.store import Store

__all__ = ["Mirror"]

log = logging.getLogger(__name__)


class Mirror:
    """Copies tracked runs from their own stores into ``target``."""

    def __init__(self, target: Store, interval: float = 0.1) -> None:
        self.target = target
        self.interval = interval
        self._tracked: dict[str, Store] = {}
        self._last_seq: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def track(self, source: Store, run_id: str) -> None:
        """Start (or keep) mirroring a run whose rows live in ``source``."""
        if source.identity != self.target.identity:
            self._tracked[run_id] = source

    def is_tracked(self, run_id: str) -> bool:
        """Whether the run is being copied now."""
        return run_id in self._tracked

    async def start(self) -> None:
        """Start the background flusher."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="smithers-mirror")

    async def close(self) -> None:
        """Flush everything, then stop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush_all()

    async def flush_all(self) -> None:
        """Copy every tracked run now."""
        for run_id in list(self._tracked):
            await self.flush(run_id)

    async def flush(self, run_id: str, *, keep: bool = True) -> None:
        """Copy one run's changes; with ``keep=False`` stop tracking it afterwards."""
        source = self._tracked.get(run_id)
        if source is None:
            return
        async with self._lock:
            await self._copy(source, run_id)
        if not keep:
            self._tracked.pop(run_id, None)
            self._last_seq.pop(run_id, None)

    async def _copy(self, source: Store, run_id: str) -> None:
        run = await source.reads.get_run(run_id)
        if run is None:
            return
        last = self._last_seq.get(run_id)
        if last is None:
            last = await self.target.reads.max_event_seq(run_id)
        nodes = await source.reads.list_nodes(run_id)
        approvals = await source.reads.list_approvals(run_id)
        while True:
            events = await source.reads.list_events(run_id, last, 1000)
            await self.target.copy_run(run, nodes, approvals, events)
            nodes, approvals = [], []
            if events:
                last = events[-1].seq
            if len(events) < 1000:
                break
        self._last_seq[run_id] = last

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.flush_all()
            except Exception:
                log.exception("mirroring failed; retrying")
