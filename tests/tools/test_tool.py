"""Tools as objects: ``@tool`` schemas and validation, the built-ins as tools, and what the
``Toolbox`` records of each call (start before the tool runs, end, metrics)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest
from prometheus_client import REGISTRY

from smithers.errors import InvalidToolInput, PathOutsideRoot, ToolFailed
from smithers.store.rows import ToolCallRow
from smithers.tools import BUILTIN_TOOLS, Tool, ToolContext, bash, grep, read, tool
from smithers.tools.calls import bounded_json
from smithers.tools.toolbox import Toolbox


class Hit(msgspec.Struct):
    title: str
    score: float


@tool
async def lookup(
    t: ToolContext, q: str, limit: int = 5, tags: list[str] | None = None
) -> list[Hit]:
    """Find entries matching ``q``."""
    return [Hit(f"{q}-{i}", 1.0 / (i + 1)) for i in range(limit)]


@tool(name="explode")
async def failing(t: ToolContext, why: str) -> None:
    """Always fails."""
    raise RuntimeError(why)


class Recorder:
    """Keeps the rows a Toolbox's log writes: each start, and each end with its output size."""

    def __init__(self) -> None:
        self.starts: list[ToolCallRow] = []
        self.ends: list[ToolCallRow] = []
        self.sizes: list[int] = []
        self.any_started = asyncio.Event()

    async def started(self, row: ToolCallRow) -> None:
        await asyncio.sleep(0)
        self.starts.append(row)
        self.any_started.set()

    def finished(self, row: ToolCallRow, output_bytes: int) -> None:
        self.ends.append(row)
        self.sizes.append(output_bytes)


def error_code(row: ToolCallRow) -> str | None:
    return None if row.error_json is None else msgspec.json.decode(row.error_json)["code"]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def toolbox(tmp_path: Path, recorder: Recorder) -> Toolbox:
    root = tmp_path / "root"
    root.mkdir()
    return Toolbox(root, allow_network=False, recorder=recorder, run_id="r", node_id="n")


def test_a_tool_takes_its_name_description_and_schema_from_the_function() -> None:
    assert isinstance(lookup, Tool) and lookup.name == "lookup"
    assert lookup.description == "Find entries matching ``q``."
    assert lookup.parameters == {
        "type": "object",
        "properties": {
            "q": {"type": "string"},
            "limit": {"type": "integer", "default": 5},
            "tags": {
                "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}],
                "default": None,
            },
        },
        "required": ["q"],
        "additionalProperties": False,
    }
    assert failing.name == "explode"


def test_the_built_ins_are_tools_with_the_spec_arguments() -> None:
    assert [t.name for t in BUILTIN_TOOLS] == ["read", "write", "edit", "grep", "glob", "bash"]
    assert set(read.parameters["properties"]) == {"path", "offset", "limit"}
    assert read.parameters["required"] == ["path"]
    assert set(grep.parameters["properties"]) == {
        "pattern",
        "path",
        "glob",
        "ignore_case",
        "max_results",
    }
    assert bash.parameters["required"] == ["command"]


def test_functions_that_cannot_be_tools_are_refused() -> None:
    def not_async(t: ToolContext) -> None: ...

    async def no_context() -> None: ...

    async def untyped(t, x):  # type: ignore[no-untyped-def]
        return x

    async def star(t: ToolContext, *args: int) -> None: ...

    with pytest.raises(TypeError, match="async"):
        tool(not_async)
    with pytest.raises(TypeError, match="ToolContext"):
        tool(no_context)
    with pytest.raises(TypeError, match="annotation"):
        tool(untyped)
    with pytest.raises(TypeError, match="named"):
        tool(star)
    with pytest.raises(ValueError, match="name"):
        tool(name="has space")(lookup.fn)


async def test_arguments_are_validated_before_the_tool_runs(
    toolbox: Toolbox, recorder: Recorder
) -> None:
    assert [h.title for h in await toolbox.call(lookup, q="a", limit=2)] == ["a-0", "a-1"]
    for bad in ({"q": 3}, {"limit": 1}, {"q": "a", "unknown": 1}, ["q"]):
        with pytest.raises(InvalidToolInput) as info:
            await toolbox.run_call(lookup, bad)
        assert info.value.code == "INVALID_TOOL_INPUT"
    assert [e.status for e in recorder.ends] == ["ok", "error", "error", "error", "error"]
    assert error_code(recorder.ends[1]) == "INVALID_TOOL_INPUT"
    assert [r.seq for r in recorder.starts] == [1, 2, 3, 4, 5]


async def test_each_call_is_recorded_start_then_end(toolbox: Toolbox, recorder: Recorder) -> None:
    written = await toolbox.write("a/b.txt", "hello")
    assert (toolbox.root / "a" / "b.txt").read_text() == "hello"
    start, end = recorder.starts[0], recorder.ends[0]
    assert start.call_id == end.call_id and start.call_id.startswith("call_")
    assert start.tool == end.tool == "write"
    assert (start.run_id, start.node_id, start.status) == ("r", "n", "in-progress")
    assert msgspec.json.decode(start.input_json or "") == {"path": "a/b.txt", "content": "hello"}
    assert end.status == "ok" and end.error_json is None
    assert msgspec.json.decode(end.output_json or "") == {
        "path": "a/b.txt",
        "bytes": 5,
        "sha256": written.sha256,
    }
    assert recorder.sizes == [len(end.output_json or "")]
    assert end.finished_at_ms is not None and end.finished_at_ms >= start.started_at_ms


async def test_refusals_and_failures_are_recorded_and_raised(
    toolbox: Toolbox, recorder: Recorder
) -> None:
    with pytest.raises(PathOutsideRoot):
        await toolbox.read("../../etc/passwd")
    with pytest.raises(ToolFailed, match="explode: RuntimeError: boom"):
        await toolbox.call(failing, why="boom")
    codes = [(e.tool, e.status, error_code(e)) for e in recorder.ends]
    assert codes == [("read", "error", "PATH_OUTSIDE_ROOT"), ("explode", "error", "TOOL_FAILED")]


async def test_a_cancelled_call_is_recorded_interrupted(
    toolbox: Toolbox, recorder: Recorder
) -> None:
    call = asyncio.create_task(toolbox.bash("sleep 30"))
    await asyncio.wait_for(recorder.any_started.wait(), 10)
    await asyncio.sleep(0.2)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    (end,) = recorder.ends
    assert end.status == "interrupted" and error_code(end) == "TOOL_INTERRUPTED"


async def test_calls_are_counted_by_tool_and_status(toolbox: Toolbox) -> None:
    def count(status: str) -> float:
        labels = {"tool": "lookup", "status": status}
        return REGISTRY.get_sample_value("smithers_tool_calls_total", labels) or 0.0

    def observed() -> float:
        labels = {"tool": "lookup"}
        return REGISTRY.get_sample_value("smithers_tool_duration_ms_count", labels) or 0.0

    ok, error, timed = count("ok"), count("error"), observed()
    await toolbox.call(lookup, q="x")
    with pytest.raises(InvalidToolInput):
        await toolbox.call(lookup)
    assert (count("ok"), count("error"), observed()) == (ok + 1, error + 1, timed + 2)


def test_stored_json_is_bounded() -> None:
    small, size = bounded_json({"a": 1})
    assert small == '{"a":1}' and size == 7
    big, size = bounded_json("x" * 100_000, limit=1000)
    kept = msgspec.json.decode(big)
    assert size == 100_002 and kept["truncated"] is True and kept["bytes"] == 100_002
    assert len(kept["head"]) == 1000
    assert bounded_json(object())[0].startswith('"<object object')


class Place(msgspec.Struct):
    city: str


@tool
async def route(t: ToolContext, start: Place, stops: list[Place] = []) -> str:  # noqa: B006
    """A route through places."""
    return start.city


def test_nested_argument_types_keep_their_definitions() -> None:
    schema = route.parameters
    assert schema["properties"]["start"] == {"$ref": "#/$defs/Place"}
    assert schema["$defs"]["Place"]["required"] == ["city"]
    assert route.validate({"start": {"city": "Oslo"}}).start == Place("Oslo")  # type: ignore[attr-defined]
