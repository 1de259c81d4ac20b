"""``/v1/runs/{runId}/nodes``, ``…/tool-calls``, ``…/input``, ``…/transcript``: what a run
was given and what its nodes did.

Reads for the console (docs/console.md) and any other client: each node with its attempts
and output, the tool-call log, the run's input and its agents' conversations. Stored JSON
columns are decoded; an unreadable one comes back as its text rather than failing the read.
A typed output (a row of its Struct's table) is decoded with the Struct of the run's
workflow file; when that file cannot be loaded any more, the row's columns are given as
stored.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from litestar import Request, get
from litestar.params import FromPath

from smithers.engine.claims import load_stored
from smithers.errors import RunNotFound, SmithersError
from smithers.server.context import context_of
from smithers.server.http.docs import documented
from smithers.server.http.wire import (
    AttemptView,
    NodeView,
    RunInput,
    ToolCallView,
    TurnView,
    from_row,
)
from smithers.store.outputs import OutputTable, output_table_for
from smithers.store.rows import RunRow
from smithers.store.run_state import RunState

__all__ = ["DETAIL_ROUTES"]

AnyRequest = Request[Any, Any, Any]


def _decoded(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        return text


@get(
    "/v1/runs/{runId:str}/nodes",
    responses=documented(404),
    summary="The run's nodes: states, attempts, outputs",
)
async def list_nodes(request: AnyRequest, runId: FromPath[str]) -> list[NodeView]:
    """Every node (one per iteration) with its state, attempts (oldest first) and output;
    nodes in the order they first started, then those that never started, by id."""
    store, row = await context_of(request).locate(runId)
    state = await store.reads.load_state(runId)
    if state is None:
        raise RunNotFound(runId)
    outputs = await _outputs(row, state)
    attempts: dict[tuple[str, int], list[AttemptView]] = {}
    for attempt in state.attempts:
        view = from_row(
            AttemptView, attempt, error=_decoded(attempt.error_json), cached=bool(attempt.cached)
        )
        attempts.setdefault((attempt.node_id, attempt.iteration), []).append(view)
    views = [
        from_row(
            NodeView,
            node,
            attempts=attempts.get((node.node_id, node.iteration), []),
            output=outputs.get((node.node_id, node.iteration)),
        )
        for node in state.nodes
    ]
    never = 2**63

    def order(view: NodeView) -> tuple[int, str, int]:
        started = view.attempts[0].started_at_ms if view.attempts else never
        return (started, view.node_id, view.iteration)

    return sorted(views, key=order)


_KEYS = ("run_id", "node_id", "iteration")


async def _outputs(row: RunRow, state: RunState) -> dict[tuple[str, int], Any]:
    """Each finished node's output as JSON values."""
    found: dict[tuple[str, int], Any] = {
        (r["node_id"], int(r["iteration"])): _decoded(r["payload_json"])
        for r in state.untyped_outputs
    }
    if not state.typed_outputs:
        return found
    tables: dict[str, OutputTable] = {}
    try:
        loaded = await asyncio.to_thread(load_stored, row)
        tables = {t.name: t for t in map(output_table_for, loaded.struct_types)}
    except (SmithersError, OSError):
        pass  # the file moved or no longer loads: the columns as stored
    for name, rows in state.typed_outputs.items():
        table = tables.get(name)
        for typed in rows:
            value: Any = {k: v for k, v in dict(typed).items() if k not in _KEYS}
            if table is not None:
                try:
                    value = msgspec.to_builtins(table.decode_row(dict(typed)))
                except (msgspec.ValidationError, msgspec.DecodeError):
                    pass  # the Struct changed since: the columns as stored
            found[(typed["node_id"], int(typed["iteration"]))] = value
    return found


@get(
    "/v1/runs/{runId:str}/tool-calls",
    responses=documented(404),
    summary="The run's tool calls",
)
async def list_tool_calls(request: AnyRequest, runId: FromPath[str]) -> list[ToolCallView]:
    """Every tool call of the run's attempts, in the order they started, with arguments,
    result and error as recorded (large values are kept bounded when recorded)."""
    store, _ = await context_of(request).locate(runId)
    return [
        from_row(
            ToolCallView,
            row,
            input=_decoded(row.input_json),
            output=_decoded(row.output_json),
            error=_decoded(row.error_json),
        )
        for row in await store.reads.list_tool_calls(runId)
    ]


@get("/v1/runs/{runId:str}/input", responses=documented(404), summary="The run's input")
async def run_input(request: AnyRequest, runId: FromPath[str]) -> RunInput:
    """The input the run was started with, as JSON (``{}`` when none was given)."""
    _, row = await context_of(request).locate(runId)
    given = _decoded(row.input_json)
    return RunInput(run_id=runId, input={} if given is None else given)


@get(
    "/v1/runs/{runId:str}/transcript",
    responses=documented(404),
    summary="The run's agent conversations",
)
async def run_transcript(request: AnyRequest, runId: FromPath[str]) -> list[TurnView]:
    """Every committed turn of the run's agent tasks, in the order they were made (a run
    without agent tasks has none)."""
    store, _ = await context_of(request).locate(runId)
    return [
        from_row(TurnView, row, content=_decoded(row.content_json), usage=_decoded(row.usage_json))
        for row in await store.reads.run_transcript(runId)
    ]


DETAIL_ROUTES = [list_nodes, list_tool_calls, run_input, run_transcript]
