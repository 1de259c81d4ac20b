"""The scheduler's background duties, every ``poll_interval``: heartbeats for the runs this
process owns (a run whose heartbeat no longer lands is lost to another process), cancel
requests and foreign events for them, and (with ``recover``) the scan that claims runs whose
owner died, that were woken elsewhere, or whose timer is due."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from smithers.engine.handles import RunHandle
from smithers.engine.ids import owner_is_dead_here
from smithers.engine.run_options import options_from_config
from smithers.engine.stores import StoreRegistry, StoreState
from smithers.statuses import RunStatus
from smithers.store.rows import RunRow
from smithers.store.store import Store
from smithers.store.urls import database_identity, redact_url

__all__ = ["Maintenance", "MaintenanceTimes"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MaintenanceTimes:
    """How often the duties come round, and when a heartbeat is stale."""

    heartbeat_interval: float = 1.0
    poll_interval: float = 0.25
    recovery_interval: float = 1.0
    stale_after_ms: int = 15_000
    """A ``running`` run whose heartbeat is older is claimed by the recovery scan."""


@dataclass(kw_only=True, eq=False)
class Maintenance:
    """The background loop of one ``RunScheduler``: it sees the runs the scheduler executes
    (``executing``) and its stores, and continues a run through ``claim``."""

    owner_id: str
    clock: Callable[[], int]
    executing: Mapping[str, RunHandle]
    registry: StoreRegistry
    claim: Callable[[Store, RunRow], Awaitable[bool]]
    times: MaintenanceTimes
    recover: bool
    """Also scan the databases for runs to claim: orphaned, woken elsewhere, or due."""

    async def run(self) -> None:
        """Until cancelled; a failing round is logged and the next one comes all the same."""
        loop = asyncio.get_running_loop()
        times = self.times
        next_heartbeat = loop.time()
        next_recovery = loop.time() + random.uniform(0, times.recovery_interval)
        while True:
            try:
                now = loop.time()
                if now >= next_heartbeat:
                    next_heartbeat = now + times.heartbeat_interval
                    await self._heartbeat()
                await self._poll_owned()
                if self.recover and now >= next_recovery:
                    next_recovery = now + times.recovery_interval
                    await self._recover()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduler maintenance failed; retrying")
            await asyncio.sleep(times.poll_interval)

    def _owned_by_store(self) -> list[tuple[Store, list[RunHandle]]]:
        by_store: dict[str, list[RunHandle]] = {}
        for handle in self.executing.values():
            by_store.setdefault(handle.store.identity, []).append(handle)
        return [(self.registry.states[key].store, handles) for key, handles in by_store.items()]

    async def _heartbeat(self) -> None:
        for store, handles in self._owned_by_store():
            ids = [h.run_id for h in handles]
            still = await store.ownership.touch_heartbeats(self.owner_id, ids, self.clock())
            for handle in handles:
                if handle.run_id not in still and self.executing.get(handle.run_id) is handle:
                    handle.loop.lose()

    async def _poll_owned(self) -> None:
        for store, handles in self._owned_by_store():
            polled = await store.ownership.poll_runs([h.run_id for h in handles])
            rows = {r.run_id: r for r in polled}
            for handle in handles:
                row = rows.get(handle.run_id)
                if row is None:
                    continue
                if row.cancel_requested_at_ms is not None:
                    handle.loop.cancel()
                elif row.max_seq > handle.loop.model.seen_seq:
                    handle.loop.wake(refresh=True)

    async def _recover(self) -> None:
        now = self.clock()
        for state in list(self.registry.states.values()):
            store = state.store
            rows = await store.ownership.find_claimable(now, now - 2 * 1000)
            for row in rows:
                if row.run_id in self.executing or state.skip_until.get(row.run_id, 0) > now:
                    continue
                owning = options_from_config(row.config_json).db_url
                if owning is not None and database_identity(owning) != store.identity:
                    # A mirror copy: the run lives (and is claimed) in its own database.
                    await self._reach_owning(state, row, owning)
                    continue
                if row.status == RunStatus.RUNNING and row.runtime_owner_id is not None:
                    stale = (
                        row.heartbeat_at_ms is None
                        or now - row.heartbeat_at_ms > self.times.stale_after_ms
                    )
                    if not stale and not owner_is_dead_here(row.runtime_owner_id):
                        continue
                await self.claim(store, row)

    async def _reach_owning(self, state: StoreState, row: RunRow, owning: str) -> None:
        """Open a mirror copy's own database; one that does not open (no password to be
        found, its server down) is tried again a minute later, and the scan goes on."""
        try:
            await self.registry.open_owning(owning, row.workflow_path)
        except Exception as exc:
            # The type only: a driver's message may quote the URL it was given.
            log.warning(
                "run %s: its database %s cannot be opened (%s); trying again in a minute",
                row.run_id,
                redact_url(owning),
                type(exc).__name__,
            )
            state.skip_until[row.run_id] = self.clock() + 60_000
