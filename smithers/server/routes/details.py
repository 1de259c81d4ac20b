"""``/v1/runs/{runId}/nodes``, ``…/tool-calls``, ``…/input``, ``…/transcript``: what a run
was given and what its nodes did.

Reads for the console (docs/console.md) and any other client: each node with its attempts
and output, the tool-call log, the run's input and its agents' conversations. Stored JSON
columns are decoded; an unreadable one comes back as its text rather than failing the read.

No read imports a workflow file: it may have changed since the run started (it lies in the
run's root, within reach of the run's tools), and importing it would run whatever it holds
now, in the server, to answer a ``GET``. A typed output (a row of its Struct's table) is
decoded with the description of the workflow's output types stored when the run started
(again whenever it was resumed or taken over): types rebuilt from msgspec and built-in types
only, giving the JSON the Struct itself would (``smithers.store.output_decoders``), whatever
became of the file since. A run stored before such descriptions were, or a row that does not
fit its description, gives the row's columns as stored.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get
from litestar.params import FromPath

from smithers.errors import RunNotFound
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
from smithers.store.output_decoders import output_value, stored_decoders
from smithers.store.run_state import RunState
from smithers.store.store import Store

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
    store, _ = await context_of(request).locate(runId)
    state = await store.reads.load_state(runId)
    if state is None:
        raise RunNotFound(runId)
    outputs = await _outputs(store, state)
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


async def _outputs(store: Store, state: RunState) -> dict[tuple[str, int], Any]:
    """Each finished node's output as JSON values (typed ones decoded as the run stored)."""
    found: dict[tuple[str, int], Any] = {
        (r["node_id"], int(r["iteration"])): _decoded(r["payload_json"])
        for r in state.untyped_outputs
    }
    if not state.typed_outputs:
        return found
    decoders = await stored_decoders(store.db, state.run.run_id)
    for name, rows in state.typed_outputs.items():
        decoder = decoders.get(name)
        for typed in rows:
            found[(typed["node_id"], int(typed["iteration"]))] = output_value(decoder, typed)
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
