"""What tasks and build functions see: heartbeats, logs, outputs, re-rendering, limits, ids."""

from __future__ import annotations

import re

import pytest

from smithers.engine.ids import new_run_id
from smithers.engine.limits import check_input
from smithers.errors import InvalidRequest
from tests.helpers import Harness


async def test_heartbeat_checkpoint_reaches_the_next_attempt(db_url: str, write_workflow) -> None:
    path = write_workflow(
        """
        import asyncio
        from smithers import workflow, Task

        seen = []

        async def work(t):
            seen.append(t.last_heartbeat)
            t.heartbeat({"done": 41})
            await asyncio.sleep(0.6)  # past the 500 ms write throttle
            t.heartbeat({"done": 42})
            if t.attempt == 1:
                raise RuntimeError("crash after checkpoint")
            return t.last_heartbeat

        @workflow("hb")
        def build(ctx):
            return Task("w", work, retries=1, backoff=0)
        """
    )
    async with Harness(db_url) as h:
        run_id, outcome = await h.run(path)
        assert outcome.status == "finished"
        from smithers.authoring.loader import load_workflow

        assert load_workflow(path).module.seen == [None, {"done": 42}]
        beats = [e for e in await h.events(run_id) if e["type"] == "TaskHeartbeat"]
        assert beats and all(e["hasData"] for e in beats)
        attempts = await h.store.reads.list_attempts(run_id)
        assert attempts[0].heartbeat_data_json == '{"done":42}'


async def test_heartbeat_rejects_bad_data(sqlite_url: str, write_workflow) -> None:
    path = write_workflow(
        """
        from smithers import workflow, Task

        def bad(t):
            t.heartbeat({"x": object()})

        @workflow("bad-hb")
        def build(ctx):
            return Task("b", bad)
        """
    )
    async with Harness(sqlite_url) as h:
        run_id, outcome = await h.run(path)
        assert outcome.status == "failed"
        failed = next(e for e in await h.events(run_id) if e["type"] == "NodeFailed")
        assert failed["error"]["name"] == "TypeError" and "JSON" in failed["error"]["message"]


async def test_build_is_called_again_when_an_output_it_read_changes(
    sqlite_url: str, write_workflow
) -> None:
    path = write_workflow(
        """
        from smithers import workflow, Task, Sequence

        calls = []

        @workflow("rerender")
        def build(ctx):
            first = ctx.output_maybe("first")
            calls.append(first)
            steps = [Task("first", value="go"), Task("second", value=2), Task("third", value=3)]
            if first == "go":
                steps.append(Task("extra", value="added because first said go"))
            return Sequence(*steps)
        """
    )
    async with Harness(sqlite_url) as h:
        run_id, outcome = await h.run(path)
        assert outcome.status == "finished"
        assert ("extra", 0) in await h.nodes(run_id)
        from smithers.authoring.loader import load_workflow

        calls = load_workflow(path).module.calls
        # rendered at start and after "first" finished; not again for second/third/extra
        assert calls == [None, "go"]


async def test_outputs_mapping_reads_everything(sqlite_url: str, write_workflow) -> None:
    path = write_workflow(
        """
        from smithers import workflow, Task, Sequence

        @workflow("outputs-map")
        def build(ctx):
            done = sorted(ctx.outputs)
            return Sequence(Task("a", value=1), Task("b", value=2), Task("seen", value=done))
        """
    )
    async with Harness(sqlite_url) as h:
        run_id, outcome = await h.run(path)
        assert outcome.status == "finished"
        state = await h.store.reads.load_state(run_id)
        assert state is not None
        seen = next(o["payload_json"] for o in state.untyped_outputs if o["node_id"] == "seen")
        assert seen == '["a","b"]'  # the render before "seen" started saw a and b


def test_input_limits() -> None:
    check_input({"a": [1, 2, {"b": "c"}]})
    with pytest.raises(InvalidRequest, match="bytes"):
        check_input({"blob": "x" * (256 * 1024)})
    deep: dict = {}
    node = deep
    for _ in range(16):
        node["d"] = {}
        node = node["d"]
    with pytest.raises(InvalidRequest, match="deeper than 16"):
        check_input(deep)


def test_run_ids_are_sortable_ulids() -> None:
    first, second = new_run_id(1_000), new_run_id(2_000)
    for run_id in (first, second):
        assert re.fullmatch(r"smi_[0-9a-hjkmnp-tv-z]{26}", run_id)
    assert first < second
