"""Tasks, sequences, parallels: outputs, failure, retries, timeouts, skips, dependencies, caps."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.helpers import Harness, assert_dense


async def test_sequence_parallel_outputs_and_events(db_url: str, write_workflow) -> None:
    path = write_workflow(
        """
        import msgspec
        from smithers import workflow, Task, Sequence, Parallel, TaskContext

        class Analysis(msgspec.Struct):
            summary: str
            score: float
            tags: list[str]
            ok: bool

        async def analyze(t: TaskContext) -> Analysis:
            t.log("reading")
            return Analysis(summary=t.input["text"][:5], score=0.5, tags=["a"], ok=True)

        def double(t: TaskContext):
            return {"n": len(t.output("analyze").summary) * 2}

        @workflow("outputs")
        def build(ctx):
            return Sequence(
                Task("analyze", analyze, output=Analysis),
                Parallel(Task("double", double), Task("static", value=[1, 2])),
                Task("last", lambda t: t.output("double")["n"] + len(t.output("static"))),
            )
        """
    )
    async with Harness(db_url) as h:
        run_id, outcome = await h.run(path, {"text": "hello world"})
        assert outcome.status == "finished"
        assert await h.status(run_id) == "finished"
        assert await h.nodes(run_id) == {
            ("analyze", 0): "finished",
            ("double", 0): "finished",
            ("static", 0): "finished",
            ("last", 0): "finished",
        }
        events = await h.events(run_id)
        assert_dense(events)
        types = [e["type"] for e in events]
        assert types[0] == "RunStarted" and types[-1] == "RunFinished"
        assert "NodeOutput" in types
        log = next(e for e in events if e["type"] == "NodeOutput")
        assert log["text"] == "reading" and log["attempt"] == 1 and log["nodeId"] == "analyze"
        # outputs survive a reload from the database: the typed table has one column per field
        rows = await h.store.db.fetch_all(
            __import__("sqlalchemy").text("SELECT summary, score, tags, ok FROM analysis")
        )
        assert rows == [{"summary": "hello", "score": 0.5, "tags": '["a"]', "ok": 1}]


async def test_failure_fails_the_run_with_task_list(db_url: str, write_workflow) -> None:
    path = write_workflow(
        """
        from smithers import workflow, Task, Sequence

        def boom():
            raise ValueError("bad input")

        @workflow("fails")
        def build(ctx):
            return Sequence(Task("boom", boom), Task("never", value=1))
        """
    )
    async with Harness(db_url) as h:
        run_id, outcome = await h.run(path)
        assert outcome.status == "failed"
        row = await h.store.reads.get_run(run_id)
        assert row is not None and row.error_json == '"Task(s) failed: boom"'
        events = await h.events(run_id)
        failed = next(e for e in events if e["type"] == "NodeFailed")
        assert failed["error"] == {"name": "ValueError", "message": "bad input"}
        assert events[-1] == {**events[-1], "type": "RunFailed", "error": "Task(s) failed: boom"}
        assert ("never", 0) not in await h.nodes(run_id)


async def test_retry_then_succeed_with_backoff(db_url: str, write_workflow, tmp_path: Path) -> None:
    marker = tmp_path / "count"
    path = write_workflow(
        f"""
        from pathlib import Path
        from smithers import workflow, Task

        def flaky(t):
            p = Path({str(marker)!r})
            n = int(p.read_text()) if p.exists() else 0
            p.write_text(str(n + 1))
            if t.attempt < 3:
                raise RuntimeError(f"attempt {{t.attempt}} failed")
            return {{"attempt": t.attempt}}

        @workflow("retry")
        def build(ctx):
            return Task("flaky", flaky, retries=3, backoff="50ms")
        """
    )
    async with Harness(db_url) as h:
        started = time.monotonic()
        run_id, outcome = await h.run(path)
        elapsed = time.monotonic() - started
        assert outcome.status == "finished"
        assert marker.read_text() == "3"
        assert await h.attempts(run_id, "flaky") == ["failed", "failed", "finished"]
        types = await h.types(run_id)
        assert types.count("NodeFailed") == 2 and types.count("NodeRetrying") == 2
        retrying = [e for e in await h.events(run_id) if e["type"] == "NodeRetrying"]
        assert [e["attempt"] for e in retrying] == [2, 3]
        assert elapsed >= 0.05 + 0.1  # backoff 50 ms, then 100 ms


async def test_retries_exhausted(sqlite_url: str, write_workflow) -> None:
    path = write_workflow(
        """
        from smithers import workflow, Task

        def always():
            raise RuntimeError("nope")

        @workflow("exhaust")
        def build(ctx):
            return Task("always", always, retries=1, backoff=0)
        """
    )
    async with Harness(sqlite_url) as h:
        run_id, outcome = await h.run(path)
        assert outcome.status == "failed"
        assert await h.attempts(run_id, "always") == ["failed", "failed"]


async def test_timeout_fails_attempt_async_and_sync(db_url: str, write_workflow) -> None:
    path = write_workflow(
        """
        import asyncio, time
        from smithers import workflow, Task, Parallel

        async def slow_async():
            await asyncio.sleep(10)

        def slow_sync(t):
            while not t.is_cancelled():
                time.sleep(0.01)
            return "gave up"

        @workflow("timeouts")
        def build(ctx):
            return Parallel(
                Task("a", slow_async, timeout="100ms", continue_on_fail=True),
                Task("s", slow_sync, timeout=0.1, continue_on_fail=True),
            )
        """
    )
    async with Harness(db_url) as h:
        started = time.monotonic()
        run_id, outcome = await h.run(path)
        assert time.monotonic() - started < 5
        assert outcome.status == "finished"  # both failures are continue_on_fail
        failures = [e for e in await h.events(run_id) if e["type"] == "NodeFailed"]
        assert {e["nodeId"] for e in failures} == {"a", "s"}
        assert all(e["error"]["code"] == "TASK_TIMEOUT" for e in failures)


async def test_continue_on_fail_lets_sequence_go_on(db_url: str, write_workflow) -> None:
    path = write_workflow(
        """
        from smithers import workflow, Task, Sequence

        def boom():
            raise RuntimeError("x")

        @workflow("cof")
        def build(ctx):
            return Sequence(Task("boom", boom, continue_on_fail=True), Task("after", value="ran"))
        """
    )
    async with Harness(db_url) as h:
        run_id, outcome = await h.run(path)
        assert outcome.status == "finished"
        assert await h.nodes(run_id) == {("boom", 0): "failed", ("after", 0): "finished"}


async def test_skip_if_marks_node_skipped(db_url: str, write_workflow) -> None:
    path = write_workflow(
        """
        from smithers import workflow, Task, Sequence

        @workflow("skips")
        def build(ctx):
            return Sequence(
                Task("first", value={"skip": True}),
                Task("maybe", value=1, skip_if=bool(ctx.output_maybe("first"))),
                Task("last", value=2),
            )
        """
    )
    async with Harness(db_url) as h:
        run_id, outcome = await h.run(path)
        assert outcome.status == "finished"
        nodes = await h.nodes(run_id)
        assert nodes[("maybe", 0)] == "skipped" and nodes[("last", 0)] == "finished"
        assert "NodeSkipped" in await h.types(run_id)


async def test_depends_on_orders_parallel_children(db_url: str, write_workflow) -> None:
    path = write_workflow(
        """
        import asyncio
        from smithers import workflow, Task, Parallel

        order = []

        async def record(t):
            await asyncio.sleep(0.05 if t.node_id == "first" else 0)
            return t.node_id

        @workflow("deps")
        def build(ctx):
            return Parallel(
                Task("second", record, depends_on=["first"]),
                Task("first", record),
            )
        """
    )
    async with Harness(db_url) as h:
        run_id, outcome = await h.run(path)
        assert outcome.status == "finished"
        events = await h.events(run_id)
        finished_first = next(
            e["seq"] for e in events if e["type"] == "NodeFinished" and e["nodeId"] == "first"
        )
        started_second = next(
            e["seq"] for e in events if e["type"] == "NodeStarted" and e["nodeId"] == "second"
        )
        assert finished_first < started_second


async def test_unmountable_dependency_fails_the_run(sqlite_url: str, write_workflow) -> None:
    path = write_workflow(
        """
        from smithers import workflow, Task

        @workflow("blocked")
        def build(ctx):
            return Task("a", value=1, depends_on=["ghost"])
        """
    )
    async with Harness(sqlite_url) as h:
        _, outcome = await h.run(path)
        assert outcome.status == "failed"
        assert "ghost" in str(outcome.error) and "not mounted" in str(outcome.error)


@pytest.mark.parametrize(("cap", "run_cap", "expected"), [(2, None, 2), (None, 3, 3), (4, 1, 1)])
async def test_parallel_and_run_concurrency_caps(
    sqlite_url: str, write_workflow, cap: int | None, run_cap: int | None, expected: int
) -> None:
    path = write_workflow(
        f"""
        import asyncio
        from smithers import workflow, Task, Parallel

        running = 0
        peak = 0

        async def work(t):
            global running, peak
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.03)
            running -= 1
            return peak

        @workflow("caps", max_concurrency=10)
        def build(ctx):
            return Parallel(*[Task(f"t{{i}}", work) for i in range(8)], max_concurrency={cap!r})
        """
    )
    async with Harness(sqlite_url) as h:
        run_id, outcome = await h.run(path, max_concurrency=run_cap)
        assert outcome.status == "finished"
        peaks = [e for e in await h.events(run_id) if e["type"] == "NodeStarted"]
        assert len(peaks) == 8
        from smithers.authoring.loader import load_workflow

        module = load_workflow(path).module
        assert module.peak == expected


async def test_branch_mounts_one_side(db_url: str, write_workflow) -> None:
    path = write_workflow(
        """
        from smithers import workflow, Task, Sequence, Branch

        @workflow("branch")
        def build(ctx):
            return Sequence(
                Task("pick", value="left"),
                Branch(ctx.output_maybe("pick") == "left", Task("left", value=1), Task("right", value=2)),
            )
        """
    )
    async with Harness(db_url) as h:
        run_id, outcome = await h.run(path)
        assert outcome.status == "finished"
        assert set(await h.nodes(run_id)) == {("pick", 0), ("left", 0)}


async def test_invalid_output_is_a_failed_attempt(sqlite_url: str, write_workflow) -> None:
    path = write_workflow(
        """
        import msgspec
        from smithers import workflow, Task

        class Out(msgspec.Struct):
            n: int

        @workflow("invalid-output")
        def build(ctx):
            return Task("bad", lambda: {"n": "not a number"}, output=Out)
        """
    )
    async with Harness(sqlite_url) as h:
        run_id, outcome = await h.run(path)
        assert outcome.status == "failed"
        failed = next(e for e in await h.events(run_id) if e["type"] == "NodeFailed")
        assert failed["error"]["code"] == "INVALID_OUTPUT"


async def test_build_function_error_fails_run(sqlite_url: str, write_workflow) -> None:
    path = write_workflow(
        """
        from smithers import workflow, Task, Sequence

        @workflow("dup")
        def build(ctx):
            return Sequence(Task("a", value=1), Task("a", value=2))
        """
    )
    async with Harness(sqlite_url) as h:
        run_id, outcome = await h.run(path)
        assert outcome.status == "failed"
        assert outcome.error["code"] == "DUPLICATE_ID"
        last = (await h.events(run_id))[-1]
        assert last["type"] == "RunFailed" and last["error"]["code"] == "DUPLICATE_ID"
