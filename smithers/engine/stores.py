"""The databases a scheduler uses: each attached once (schema ensured, its events published),
keyed by identity, so URLs that differ only in their password share one store."""

from __future__ import annotations

from dataclasses import dataclass, field

from smithers import metrics, trust
from smithers.engine.hub import EventHub
from smithers.engine.owning import usable_url
from smithers.store.inspection import workflows_to_load
from smithers.store.store import Store
from smithers.store.urls import database_identity

__all__ = ["StoreRegistry", "StoreState"]


@dataclass
class StoreState:
    """A database this scheduler uses, and the runs its recovery scan leaves alone for now."""

    store: Store
    skip_until: dict[str, int] = field(default_factory=dict)
    """Run id → epoch ms before which a claim is not tried again (it failed here)."""


class StoreRegistry:
    """The stores of a ``RunScheduler``, each publishing its committed events to ``hub``."""

    def __init__(self, hub: EventHub) -> None:
        self.hub = hub
        self.states: dict[str, StoreState] = {}
        """Store identity → the store and its recovery state."""

    async def attach(self, store: Store) -> Store:
        """Use ``store`` (schema ensured, events published to the hub and metrics)."""
        # Keyed by identity: URLs that differ only in their password share one store.
        known = self.states.get(store.identity)
        if known is not None:
            return known.store
        await store.ensure_schema()
        # the code this store's runs will load again, protected before any tool runs
        for path in await workflows_to_load(store.db):
            trust.protect_code(path)
        store.add_listener(self.hub.publisher(store.url))
        store.add_listener(metrics.track_events)
        self.states[store.identity] = StoreState(store)
        return store

    async def open_store(self, url: str) -> Store:
        """The attached store for ``url``, opened on first use."""
        known = self.states.get(database_identity(url))
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
        known = self.states.get(database_identity(db_url))
        if known is not None:
            return known.store
        return await self.open_store(await usable_url(db_url, workflow_path))

    @property
    def stores(self) -> list[Store]:
        """Every store this scheduler uses."""
        return [s.store for s in self.states.values()]

    def skip(self, store: Store, run_id: str, until_ms: int) -> None:
        """Leave ``run_id`` of ``store`` to other processes until ``until_ms`` (a claim failed
        here)."""
        state = self.states.get(store.identity)
        if state is not None:
            state.skip_until[run_id] = until_ms
