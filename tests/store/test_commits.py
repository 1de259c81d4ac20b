"""Commit guarantees: dense per-run seqs under concurrency, owner and expectation checks."""

from __future__ import annotations

import asyncio

import pytest

from smithers.engine.events import NodeOutput, RunStarted
from smithers.errors import OwnershipLost, RunAlreadyExists
from smithers.store.batch import Batch
from smithers.store.rows import RunUpdate
from smithers.store.store import ExpectationFailed, Store
from tests.store.helpers import node_row, run_row


async def test_concurrent_commits_from_several_processes_get_dense_seqs(db_url: str) -> None:
    stores = [Store.open(db_url) for _ in range(3)]
    try:
        for store in stores:
            await store.ensure_schema()
        await stores[0].create_run(
            run_row("r1"), Batch(events=[RunStarted(run_id="r1", timestamp_ms=1)])
        )

        async def writer(store: Store, n: int) -> None:
            for i in range(15):
                event = NodeOutput(
                    run_id="r1",
                    timestamp_ms=2,
                    node_id=f"n{n}",
                    iteration=0,
                    attempt=1,
                    text=str(i),
                )
                await store.commit("r1", Batch(events=[event, event]), owner="me")

        await asyncio.gather(*(writer(s, n) for n, s in enumerate(stores)))
        events = await stores[0].reads.list_events("r1", -1, 1000)
        assert [e.seq for e in events] == list(range(1 + 3 * 15 * 2))
    finally:
        for store in stores:
            await store.close()


async def test_guards(db_url: str) -> None:
    async with Store.opened(db_url) as store:
        await store.create_run(run_row("r1"), Batch())
        with pytest.raises(RunAlreadyExists):
            await store.create_run(run_row("r1"), Batch())
        failed = RunUpdate(run_id="r1", status="failed")
        with pytest.raises(OwnershipLost):
            await store.commit("r1", Batch(rows=[failed]), owner="someone-else")
        with pytest.raises(ExpectationFailed):
            await store.commit("r1", Batch(rows=[failed]), expect={"status": "finished"})
        commit = await store.commit("r1", Batch(events=[RunStarted(run_id="r1", timestamp_ms=3)]))
        with pytest.raises(ExpectationFailed):
            await store.commit("r1", Batch(), expect_max_seq=commit.last_seq - 1)
        row = await store.reads.get_run("r1")
        assert row is not None and row.status == "running"


async def test_run_with_summary_counts_only_that_run(db_url: str) -> None:
    async with Store.opened(db_url) as store:
        for run_id, states in (("r1", ["finished", "pending"]), ("r2", ["finished", "finished"])):
            await store.create_run(run_row(run_id), Batch())
            nodes = [node_row(run_id, f"n{i}", st) for i, st in enumerate(states)]
            await store.commit(run_id, Batch(rows=list(nodes)))
        await store.create_run(run_row("r3"), Batch())
        found = await store.reads.run_with_summary("r1")
        assert found is not None and found[1] == {"finished": 1, "pending": 1}
        found = await store.reads.run_with_summary("r3")
        assert found is not None and found[0].run_id == "r3" and found[1] == {}
        assert await store.reads.run_with_summary("missing") is None
