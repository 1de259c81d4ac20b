"""Cancel, resume, hot reload, ownership loss, shutdown."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from smithers.errors import RunInProgress, RunNotActive, RunNotFound
from tests.helpers import Harness, assert_dense

SLOW = """
import asyncio, time
from smithers import workflow, Task, Parallel

async def slow_async():
    await asyncio.sleep(30)

def slow_sync(t):
    while not t.is_cancelled():
        time.sleep(0.01)

@workflow("slow")
def build(ctx):
    return Parallel(Task("a", slow_async), Task("s", slow_sync))
"""


async def _until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def test_cancel_running_run_within_250ms(db_url: str, write_workflow) -> None:
    path = write_workflow(SLOW)
    async with Harness(db_url) as h:
        run_id = await h.start(path)

        async def both_running() -> bool:
            return set((await h.nodes(run_id)).values()) == {"in-progress"}

        await _until(both_running)
        started = time.monotonic()
        await h.scheduler.cancel_run(h.store, run_id)
        await _until(lambda: _status_is(h, run_id, "cancelled"))
        assert time.monotonic() - started < 0.25
        attempts = await h.store.reads.list_attempts(run_id)
        assert [a.state for a in attempts] == ["cancelled", "cancelled"]
        assert set((await h.nodes(run_id)).values()) == {"cancelled"}
        events = await h.events(run_id)
        assert_dense(events)
        cancelled = [e for e in events if e["type"] == "NodeCancelled"]
        assert {e["reason"] for e in cancelled} == {"run-cancelled"}
        assert events[-1]["type"] == "RunCancelled"
        with pytest.raises(RunNotActive):
            await h.scheduler.cancel_run(h.store, run_id)


async def _status_is(h: Harness, run_id: str, status: str) -> bool:
    return await h.status(run_id) == status


async def test_cancel_unknown_run(sqlite_url: str) -> None:
    async with Harness(sqlite_url) as h:
        with pytest.raises(RunNotFound):
            await h.scheduler.cancel_run(h.store, "nope")


async def test_resume_failed_run_grants_one_more_attempt(db_url: str, write_workflow) -> None:
    path = write_workflow(
        """
        from smithers import workflow, Task, Sequence

        def second_time_lucky(t):
            if t.attempt == 1:
                raise RuntimeError("first attempt fails")
            return t.attempt

        def never():
            raise RuntimeError("never works")

        @workflow("resume-failed")
        def build(ctx):
            return Sequence(Task("lucky", second_time_lucky), Task("doomed", never, continue_on_fail=False))
        """
    )
    async with Harness(db_url) as h:
        run_id, outcome = await h.run(path)
        assert outcome.status == "failed"
        outcome = await h.resume(run_id)
        assert outcome.status == "failed"  # lucky passed, doomed failed
        assert await h.attempts(run_id, "lucky") == ["failed", "finished"]
        assert await h.attempts(run_id, "doomed") == ["failed"]
        outcome = await h.resume(run_id)
        assert outcome.status == "failed"
        assert await h.attempts(run_id, "doomed") == ["failed", "failed"]  # exactly one more
        assert_dense(await h.events(run_id))


async def test_resume_of_a_finished_run_changes_nothing(db_url: str, write_workflow) -> None:
    path = write_workflow(
        """
        from smithers import workflow, Task, Sequence

        @workflow("done")
        def build(ctx):
            return Sequence(Task("a", value=1), Task("b", value=2))
        """
    )
    async with Harness(db_url) as h:
        run_id, outcome = await h.run(path)
        assert outcome.status == "finished"
        row = await h.store.reads.get_run(run_id)
        events = await h.events(run_id)
        for force in (False, True):
            assert await h.scheduler.resume_run(h.store, run_id, force=force) == "finished"
        assert run_id not in h.scheduler.active
        await asyncio.sleep(0.2)
        assert await h.store.reads.get_run(run_id) == row
        assert await h.events(run_id) == events
    async with Harness(db_url, auto_wake=True, recovery_interval=0.05) as recovering:
        await asyncio.sleep(0.3)  # a server's recovery scan leaves it alone too
        assert await recovering.events(run_id) == events


async def test_resume_of_a_cancelled_run_runs_its_cancelled_nodes_again(
    db_url: str, write_workflow
) -> None:
    path = write_workflow(
        """
        import asyncio
        from smithers import workflow, Task, Sequence

        async def slow(t):
            await asyncio.sleep(30 if t.attempt == 1 else 0)
            return t.attempt

        @workflow("cancel-then-resume")
        def build(ctx):
            return Sequence(Task("a", value=1), Task("slow", slow), Task("b", value=2))
        """
    )
    async with Harness(db_url) as h:
        run_id = await h.start(path)
        await _until(lambda: _node_is(h, run_id, "slow", "in-progress"))
        await h.scheduler.cancel_run(h.store, run_id)
        await _until(lambda: _status_is(h, run_id, "cancelled"))
        assert (await h.resume(run_id)).status == "finished"
        assert await h.attempts(run_id, "a") == ["finished"]  # finished work is kept
        assert await h.attempts(run_id, "slow") == ["cancelled", "finished"]
        assert_dense(await h.events(run_id))


async def test_resume_unknown_and_active(sqlite_url: str, write_workflow) -> None:
    path = write_workflow(SLOW)
    async with Harness(sqlite_url) as h:
        with pytest.raises(RunNotFound) as err:
            await h.scheduler.resume_run(h.store, "missing")
        assert err.value.code == "RUN_NOT_FOUND"
        run_id = await h.start(path)
        assert await h.scheduler.resume_run(h.store, run_id) == "running"
        async with Harness(sqlite_url) as other:
            with pytest.raises(RunInProgress):
                await other.scheduler.resume_run(other.store, run_id)
        await h.scheduler.cancel_run(h.store, run_id)


async def test_hot_reload_between_runs_and_on_resume(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "reload.py"
    v1 = """
from smithers import workflow, Task, Sequence
@workflow("reload")
def build(ctx):
    return Sequence(Task("a", value="v1"), Task("gate", value=0, needs_approval=True))
"""
    path.write_text(v1)
    async with Harness(db_url) as h:
        first, outcome = await h.run(path)
        assert outcome.status == "waiting-approval"
        path.write_text(
            v1.replace('"v1"', '"v2"').replace("needs_approval=True", "needs_approval=False") + "\n"
        )
        path.write_text(
            path.read_text().replace(
                'Task("gate", value=0, needs_approval=False))',
                'Task("gate", value=0), Task("added", value="new"))',
            )
        )
        second, outcome = await h.run(path)
        assert outcome.status == "finished"
        assert set(await h.nodes(second)) == {("a", 0), ("gate", 0), ("added", 0)}
        # resuming the first run with the edited file: "a" keeps its v1 output, new code runs on
        outcome = await h.resume(first)
        assert outcome.status == "finished"
        state = await h.store.reads.load_state(first)
        assert state is not None
        outputs = {o["node_id"]: o["payload_json"] for o in state.untyped_outputs}
        assert outputs == {"a": '"v1"', "gate": "0", "added": '"new"'}
        rows = {r.run_id: r.workflow_hash for r in await h.store.reads.list_runs(10)}
        assert rows[first] == rows[second]  # the first run now records the new file version


async def test_owner_that_loses_the_run_stops_writing(db_url: str, write_workflow) -> None:
    path = write_workflow(
        """
        import asyncio
        from smithers import workflow, Task, Sequence

        async def slow(t):
            await asyncio.sleep(0.3)
            return t.attempt

        @workflow("stolen")
        def build(ctx):
            return Sequence(Task("slow", slow), Task("next", value=1))
        """
    )
    async with Harness(db_url) as a, Harness(db_url) as b:
        run_id = await a.start(path)
        waiter_a = asyncio.create_task(a.wait(run_id, until=("lost", "finished")))
        await asyncio.sleep(0.05)
        waiter_b = asyncio.create_task(b.wait(run_id))
        await b.scheduler.resume_run(b.store, run_id, force=True)
        assert (await waiter_a).status == "lost"
        assert (await waiter_b).status == "finished"
        events = await b.events(run_id)
        assert_dense(events)
        finished = [e for e in events if e["type"] == "NodeFinished" and e["nodeId"] == "slow"]
        assert [e["attempt"] for e in finished] == [2]  # A's attempt 1 never wrote its end


async def test_shutdown_interrupts_and_another_process_continues(
    db_url: str, write_workflow
) -> None:
    path = write_workflow(
        """
        import asyncio
        from smithers import workflow, Task, Sequence

        async def slow(t):
            await asyncio.sleep(0.2 if t.attempt > 1 else 30)
            return t.attempt

        @workflow("interrupted")
        def build(ctx):
            return Sequence(Task("slow", slow), Task("next", value=1))
        """
    )
    async with Harness(db_url) as h:
        run_id = await h.start(path)
        await _until(lambda: _node_is(h, run_id, "slow", "in-progress"))
    async with Harness(db_url) as check:
        row = await check.store.reads.get_run(run_id)
        assert row is not None and row.status == "running" and row.runtime_owner_id is None
        assert await check.attempts(run_id, "slow") == ["cancelled"]
        interrupted = [e for e in await check.events(run_id) if e["type"] == "NodeCancelled"]
        assert interrupted[0]["reason"] == "interrupted"
    async with Harness(db_url, auto_wake=True, recovery_interval=0.05) as h2:
        await _until(lambda: _status_is(h2, run_id, "finished"))
        assert await h2.attempts(run_id, "slow") == ["cancelled", "finished"]
        assert_dense(await h2.events(run_id))


async def _node_is(h: Harness, run_id: str, node_id: str, state: str) -> bool:
    return (await h.nodes(run_id)).get((node_id, 0)) == state
