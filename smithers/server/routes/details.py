"""``/v1/runs/{runId}/nodes`` and ``/v1/runs/{runId}/tool-calls``: what a run's nodes did.

Reads for the console (docs/console.md) and any other client: each node with its attempts,
and the tool-call log. Stored JSON columns are decoded; an unreadable one comes back as its
text rather than failing the read.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get
from litestar.params import FromPath

from smithers.server.context import context_of
from smithers.server.http.docs import documented
from smithers.server.http.wire import AttemptView, NodeView, ToolCallView

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
    summary="The run's nodes and their attempts",
)
async def list_nodes(request: AnyRequest, runId: FromPath[str]) -> list[NodeView]:
    """Every node (one per iteration) with its state and attempts, oldest attempt first;
    nodes in the order they first started, then those that never started, by id."""
    store, _ = await context_of(request).locate(runId)
    nodes = await store.reads.list_nodes(runId)
    attempts: dict[tuple[str, int], list[AttemptView]] = {}
    for row in await store.reads.list_attempts(runId):
        attempts.setdefault((row.node_id, row.iteration), []).append(
            AttemptView(
                attempt=row.attempt,
                state=row.state,
                started_at_ms=row.started_at_ms,
                finished_at_ms=row.finished_at_ms,
                heartbeat_at_ms=row.heartbeat_at_ms,
                error=_decoded(row.error_json),
                cached=bool(row.cached),
            )
        )
    views = [
        NodeView(
            node_id=node.node_id,
            iteration=node.iteration,
            state=node.state,
            label=node.label,
            last_attempt=node.last_attempt,
            updated_at_ms=node.updated_at_ms,
            attempts=attempts.get((node.node_id, node.iteration), []),
        )
        for node in nodes
    ]
    never = 2**63

    def order(view: NodeView) -> tuple[int, str, int]:
        started = view.attempts[0].started_at_ms if view.attempts else never
        return (started, view.node_id, view.iteration)

    return sorted(views, key=order)


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
        ToolCallView(
            node_id=row.node_id,
            iteration=row.iteration,
            attempt=row.attempt,
            call_id=row.call_id,
            seq=row.seq,
            tool=row.tool,
            status=row.status,
            input=_decoded(row.input_json),
            output=_decoded(row.output_json),
            error=_decoded(row.error_json),
            started_at_ms=row.started_at_ms,
            finished_at_ms=row.finished_at_ms,
        )
        for row in await store.reads.list_tool_calls(runId)
    ]


DETAIL_ROUTES = [list_nodes, list_tool_calls]
