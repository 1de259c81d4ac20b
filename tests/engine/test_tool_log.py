"""The tool-call log of a run: rows in ``_smithers_tool_calls`` and ``ToolCallStarted`` /
``ToolCallFinished`` events for every call of task code, on SQLite and PostgreSQL; a call
left in progress by a killed process is ended ``interrupted`` by the claim, never re-run."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

from smithers.engine.ids import new_run_id
from smithers.store.batch import Batch
from smithers.store.rows import RunUpdate
from tests.engine.test_processes import _worker
from tests.helpers import Harness, assert_dense

USING_TOOLS = """
from smithers import workflow, Task, Sequence
from smithers.tools import tool, ToolContext

@tool
async def shout(t: ToolContext, text: str) -> str:
    '''Upper-case text.'''
    return text.upper()

async def work(t):
    await t.tools.write("notes.txt", "x" * 5000)
    listed = await t.tools.bash("wc -c notes.txt")
    loud = await t.tools.call(shout, text="hey")
    try:
        await t.tools.read("../outside.txt")
    except Exception as exc:
        refused = exc.code
    return {"listed": listed.output.split()[0], "loud": loud, "refused": refused}

@workflow("using-tools")
def build(ctx):
    return Sequence(Task("work", work))
"""


async def test_every_call_is_logged_with_its_events(db_url: str, write_workflow) -> None:  # type: ignore[no-untyped-def]
    path = write_workflow(USING_TOOLS)
    async with Harness(db_url) as h:
        run_id, outcome = await h.run(path)
        assert outcome.status == "finished"
        calls = await h.store.reads.list_tool_calls(run_id)
        events = await h.events(run_id)
    assert [(c.tool, c.status, c.attempt, c.node_id) for c in calls] == [
        ("write", "ok", 1, "work"),
        ("bash", "ok", 1, "work"),
        ("shout", "ok", 1, "work"),
        ("read", "error", 1, "work"),
    ]
    assert calls[1].output_json is not None and '"exitCode":0' in calls[1].output_json
    assert calls[3].error_json is not None and "PATH_OUTSIDE_ROOT" in calls[3].error_json
    assert all(c.finished_at_ms is not None and c.finished_at_ms >= c.started_at_ms for c in calls)
    assert_dense(events)
    tool_events = [e for e in events if e["type"].startswith("ToolCall")]
    assert [(e["type"], e["tool"]) for e in tool_events] == [
        (kind, tool)
        for tool in ("write", "bash", "shout", "read")
        for kind in ("ToolCallStarted", "ToolCallFinished")
    ]
    started = {e["callId"]: e for e in tool_events if e["type"] == "ToolCallStarted"}
    assert set(started) == {c.call_id for c in calls}
    # the 5,000-byte content makes the input larger than an event carries: cut, as text
    write_input = started[calls[0].call_id]["input"]
    assert isinstance(write_input, str) and write_input.endswith("…")
    assert len(write_input.encode()) <= 4096 + len("…".encode())
    assert started[calls[2].call_id]["input"] == {"text": "hey"}
    finished = [e for e in tool_events if e["type"] == "ToolCallFinished"]
    assert [e["status"] for e in finished] == ["ok", "ok", "ok", "error"]
    assert finished[3]["error"]["code"] == "PATH_OUTSIDE_ROOT" and "error" not in finished[0]
    assert finished[2]["outputBytes"] == len('"HEY"')
    node_started = next(e for e in events if e["type"] == "NodeStarted")
    node_finished = next(e for e in events if e["type"] == "NodeFinished")
    assert (
        node_started["seq"] < tool_events[0]["seq"] < tool_events[-1]["seq"] < node_finished["seq"]
    )


SLOW_TOOL = """
from smithers import workflow, Task, Sequence

async def work(t):
    # the first attempt touches the marker and sleeps: it is killed in the middle
    result = await t.tools.bash("if [ -f marker ]; then echo again; else touch marker; sleep 60; fi")
    return {"attempt": t.attempt, "said": result.output.strip()}

@workflow("slow-tool")
def build(ctx):
    return Sequence(Task("work", work))
"""


async def _kill_during_the_call(db_url: str, tmp_path: Path) -> str:
    """A worker started the run and was SIGKILLed while its bash call ran; the run's id."""
    workflow = tmp_path / "slow_tool.py"
    workflow.write_text(SLOW_TOOL)
    run_id = new_run_id()
    proc = _worker("start", db_url, str(workflow), run_id)
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "marker").exists():
            assert time.monotonic() < deadline, "the worker never started the tool call"
            await asyncio.sleep(0.02)
        async with Harness(db_url) as h:
            while not await h.store.reads.list_tool_calls(run_id):
                assert time.monotonic() < deadline, "the call's start was never committed"
                await asyncio.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    return run_id


async def test_a_call_in_progress_at_a_crash_is_ended_interrupted(
    db_url: str, tmp_path: Path
) -> None:
    run_id = await _kill_during_the_call(db_url, tmp_path)
    async with Harness(db_url) as h:
        (open_call,) = await h.store.reads.list_tool_calls(run_id)
        assert open_call.status == "in-progress" and open_call.finished_at_ms is None
        outcome = await h.resume(run_id, force=True)  # its owner is dead: no need to wait
        assert outcome.status == "finished"
        calls = await h.store.reads.list_tool_calls(run_id)
        events = await h.events(run_id)
        output = (await h.store.reads.load_state(run_id)).untyped_outputs  # type: ignore[union-attr]
    assert [(c.attempt, c.status) for c in calls] == [(1, "interrupted"), (2, "ok")]
    assert calls[0].error_json is not None and "TOOL_INTERRUPTED" in calls[0].error_json
    assert '"said":"again"' in output[0]["payload_json"]
    ends = [e for e in events if e["type"] == "ToolCallFinished"]
    assert [(e["attempt"], e["status"]) for e in ends] == [(1, "error"), (2, "ok")]
    assert ends[0]["error"]["code"] == "TOOL_INTERRUPTED" and ends[0]["callId"] == calls[0].call_id
    assert_dense(events)


TIMING_OUT = """
from smithers import workflow, Task, Sequence
from smithers.errors import ToolTimeout

async def work(t):
    try:
        await t.tools.bash("sleep 1000", timeout=0.5)
    except ToolTimeout as exc:
        timed_out = exc.code
    after = await t.tools.bash("echo still here")
    return {"timedOut": timed_out, "after": after.output.strip()}

@workflow("timing-out")
def build(ctx):
    return Sequence(Task("work", work), Task("next", lambda t: "ran"))
"""


async def test_a_command_past_its_timeout_is_killed_and_the_run_goes_on(
    sqlite_url: str, write_workflow
) -> None:  # type: ignore[no-untyped-def]
    async with Harness(sqlite_url) as h:
        started = time.monotonic()
        run_id, outcome = await h.run(write_workflow(TIMING_OUT))
        elapsed = time.monotonic() - started
        calls = await h.store.reads.list_tool_calls(run_id)
        nodes = await h.nodes(run_id)
    assert outcome.status == "finished" and elapsed < 10
    assert nodes == {("work", 0): "finished", ("next", 0): "finished"}
    assert [c.status for c in calls] == ["error", "ok"]
    assert calls[0].error_json is not None and "TOOL_TIMEOUT" in calls[0].error_json


async def test_cancelling_a_dead_owners_run_ends_its_open_call(db_url: str, tmp_path: Path) -> None:
    run_id = await _kill_during_the_call(db_url, tmp_path)
    async with Harness(db_url) as h:
        # the dead owner as a process on another host whose heartbeat is a minute old
        stale = int(time.time() * 1000) - 60_000
        orphaned = RunUpdate(
            run_id=run_id, runtime_owner_id="elsewhere:1:dead", heartbeat_at_ms=stale
        )
        await h.store.commit(run_id, Batch(rows=[orphaned]))
        await h.scheduler.cancel_run(h.store, run_id)
        calls = await h.store.reads.list_tool_calls(run_id)
        events = await h.events(run_id)
        status = await h.status(run_id)
    assert status == "cancelled"
    assert [c.status for c in calls] == ["interrupted"]
    (ended,) = [e for e in events if e["type"] == "ToolCallFinished"]
    assert ended["error"]["code"] == "TOOL_INTERRUPTED"
