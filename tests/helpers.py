"""Helpers for tests that run workflows in this process on a real database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from smithers.authoring.loader import load_workflow
from smithers.engine.outcomes import RunOutcome
from smithers.engine.scheduler import RunScheduler, StartOptions
from smithers.statuses import SUSPENDED, TERMINAL
from smithers.store.store import Store


class Harness:
    """A store and a scheduler on one database URL."""

    def __init__(self, url: str, **scheduler_options: Any) -> None:
        self.url = url
        self.store = Store.open(url)
        self.scheduler = RunScheduler(**scheduler_options)

    async def __aenter__(self) -> Harness:
        await self.scheduler.attach(self.store)
        await self.scheduler.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.scheduler.close()
        await self.store.close()

    async def start(
        self,
        path: Path,
        input: dict[str, Any] | None = None,
        *,
        run_id: str | None = None,
        max_concurrency: int | None = None,
    ) -> str:
        """Start a run and return its id (without waiting)."""
        loaded = load_workflow(path)
        return await self.scheduler.start_run(
            self.store,
            loaded,
            input=input,
            run_id=run_id,
            options=StartOptions(max_concurrency=max_concurrency),
        )

    async def wait(
        self, run_id: str, until: Iterable[str] = (*TERMINAL, *SUSPENDED), timeout: float = 20
    ) -> RunOutcome:
        """Wait for this process's loop of ``run_id`` to end in one of ``until``."""
        return await asyncio.wait_for(self.scheduler.wait(run_id, until), timeout)

    async def run(
        self, path: Path, input: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, RunOutcome]:
        """Start a run and wait until it ends or suspends."""
        from smithers.engine.ids import new_run_id

        run_id = kw.pop("run_id", None) or new_run_id()
        waiter = asyncio.create_task(self.wait(run_id))
        await asyncio.sleep(0)
        await self.start(path, input, run_id=run_id, **kw)
        return run_id, await waiter

    async def resume(self, run_id: str, **kw: Any) -> RunOutcome:
        """Resume a run in this process and wait until it ends or suspends."""
        waiter = asyncio.create_task(self.wait(run_id))
        await asyncio.sleep(0)
        await self.scheduler.resume_run(self.store, run_id, **kw)
        return await waiter

    async def events(self, run_id: str) -> list[dict[str, Any]]:
        """Every stored event of a run, decoded, with its seq."""
        rows = await self.store.reads.list_events(run_id, -1, 100_000)
        return [dict(json.loads(r.payload_json), seq=r.seq) for r in rows]

    async def types(self, run_id: str) -> list[str]:
        """Event types in order."""
        return [e["type"] for e in await self.events(run_id)]

    async def status(self, run_id: str) -> str:
        """The stored run status."""
        row = await self.store.reads.get_run(run_id)
        assert row is not None
        return row.status

    async def nodes(self, run_id: str) -> dict[tuple[str, int], str]:
        """Node states by (node id, iteration)."""
        return {
            (n.node_id, n.iteration): n.state for n in await self.store.reads.list_nodes(run_id)
        }

    async def attempts(self, run_id: str, node_id: str) -> list[str]:
        """Attempt states of one node, in order."""
        return [
            a.state for a in await self.store.reads.list_attempts(run_id) if a.node_id == node_id
        ]


def assert_dense(events: list[dict[str, Any]]) -> None:
    """Seqs are 0..n-1 in order, no gaps, no duplicates."""
    assert [e["seq"] for e in events] == list(range(len(events)))
