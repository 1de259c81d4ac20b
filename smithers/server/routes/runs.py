"""``/v1/runs…``: start, resume, cancel, read, frames, decisions, signals, listing."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import MediaType, Request, Response, get, post
from litestar.params import FromPath, QueryParameter

from smithers.engine.limits import check_input
from smithers.errors import ApprovalNotPending, InvalidRequest, RunIdRequired, RunInProgress
from smithers.server.context import context_of
from smithers.server.http.docs import documented
from smithers.server.http.inputs import (
    parse_decision,
    parse_resume,
    parse_signal,
    parse_signal_name,
    parse_start,
    query_cursor,
    query_int,
    query_limit,
    query_status,
    read_object,
)
from smithers.server.http.wire import (
    CancelResponse,
    DecisionResponse,
    FrameView,
    ResumeResponse,
    RunCounts,
    RunListItem,
    RunView,
    SignalResponse,
    StartRunResponse,
    from_row,
)
from smithers.statuses import FINAL
from smithers.store import run_listing as listing
from smithers.store.rows import RunRow, RunStatusRow
from smithers.store.run_listing import RunFilter
from smithers.store.urls import redact_config_json

__all__ = ["RUN_ROUTES", "decide", "frames_of", "list_item", "run_view", "view_of"]

AnyRequest = Request[Any, Any, Any]


def run_view(row: RunStatusRow, summary: dict[str, int]) -> RunView:
    """The body of ``GET /v1/runs/{runId}``."""
    error = None
    if row.status == "failed" and row.error_json:
        error = msgspec.json.decode(row.error_json)
    return from_row(RunView, row, summary=summary, error=error)


_json = msgspec.json.Encoder()


async def view_of(request: AnyRequest, run_id: str) -> Response[RunView]:
    """``GET /v1/runs/{runId}``: a final run's body from memory, any other run read anew."""
    ctx = context_of(request)
    body = ctx.final_runs.get(run_id)
    if body is not None:
        return Response(body, media_type=MediaType.JSON)  # type: ignore[arg-type]
    row, summary = await ctx.run_with_summary(run_id)
    view = run_view(row, summary)
    if row.status in FINAL:
        ctx.final_runs[run_id] = _json.encode(view)
    return Response(view)


@post(
    "/v1/runs",
    status_code=200,
    responses=documented(400, 404, 409, 413),
    summary="Start or resume a run",
)
async def start_run(request: AnyRequest) -> StartRunResponse:
    """Start a run of a workflow file (or resume one with ``resume: true``)."""
    ctx = context_of(request)
    body = parse_start(await read_object(request))
    if body.resume and body.run_id is None:
        raise RunIdRequired()
    loaded = await ctx.load(body.workflow_path)
    check_input(body.input)
    store = await ctx.store_for(loaded)
    options = ctx.options(body.config.max_concurrency, store)
    if body.resume:
        assert body.run_id is not None
        state = await ctx.scheduler.resume_run(store, body.run_id, loaded, options=options)
        if state == "running":
            raise RunInProgress(f"Run {body.run_id} is already running")
        run_id = body.run_id
    else:
        run_id = await ctx.scheduler.start_run(
            store, loaded, input=body.input, run_id=body.run_id, options=options
        )
    ctx.homes[run_id] = store
    return StartRunResponse(run_id=run_id)


@post(
    "/v1/runs/{runId:str}/resume",
    status_code=200,
    responses=documented(400, 404, 413),
    summary="Resume a run",
)
async def resume_run(request: AnyRequest, runId: FromPath[str]) -> ResumeResponse:
    """Continue a run from its last checkpoint (no-op when it is running)."""
    ctx = context_of(request)
    body = parse_resume(await read_object(request))
    store, row = await ctx.locate(runId, resuming=True)
    if ctx.scheduler.is_active(row):
        return ResumeResponse(run_id=runId, status="running")
    given = body.workflow_path or row.workflow_path
    if not given:
        raise InvalidRequest("workflowPath must be a string")
    loaded = await ctx.load(given)
    options = ctx.options(body.config.max_concurrency, store)
    try:
        state = await ctx.scheduler.resume_run(store, runId, loaded, options=options)
    except RunInProgress:
        state = "running"
    return ResumeResponse(run_id=runId, status="running" if state == "running" else None)


@post(
    "/v1/runs/{runId:str}/cancel",
    status_code=200,
    responses=documented(404, 409),
    summary="Cancel a run",
)
async def cancel_run(request: AnyRequest, runId: FromPath[str]) -> CancelResponse:
    """Cancel a run: at once when suspended or orphaned, through its owner when running."""
    ctx = context_of(request)
    store, _ = await ctx.locate(runId, writing=True)
    await ctx.scheduler.cancel_run(store, runId)
    await ctx.touched(store, runId)
    return CancelResponse(run_id=runId)


@get("/v1/runs/{runId:str}", responses=documented(404), summary="Run status and summary")
async def get_run(request: AnyRequest, runId: FromPath[str]) -> Response[RunView]:
    """The run's status, timestamps, node state counts and error."""
    return await view_of(request, runId)


@get("/v1/runs/{runId:str}/frames", responses=documented(400, 404), summary="Render frames")
async def list_frames(
    request: AnyRequest,
    runId: FromPath[str],
    limit: Annotated[str | None, QueryParameter(description="1..1000, default 50")] = None,
    after_frame_no: Annotated[
        str | None,
        QueryParameter(name="afterFrameNo", description="frames numbered above it, oldest first"),
    ] = None,
) -> list[FrameView]:
    """The newest frames (newest first), or the frames after ``afterFrameNo`` (oldest first)."""
    return await frames_of(request, runId, limit, after_frame_no)


async def frames_of(
    request: AnyRequest, run_id: str, limit: str | None, after_frame_no: str | None
) -> list[FrameView]:
    """Frames of a run from the raw query parameters."""
    ctx = context_of(request)
    count = query_limit(limit)
    after = query_int(after_frame_no, "afterFrameNo")
    store, _ = await ctx.locate(run_id)
    rows = await store.reads.list_frames(run_id, count, after)
    return [FrameView(**msgspec.structs.asdict(r)) for r in rows]


@post(
    "/v1/runs/{runId:str}/nodes/{nodeId:str}/approve",
    status_code=200,
    responses=documented(400, 404, 409, 413),
    summary="Approve a waiting node",
)
async def approve(
    request: AnyRequest, runId: FromPath[str], nodeId: FromPath[str]
) -> DecisionResponse:
    """Record an approval; a suspended run continues by itself."""
    return await decide(request, runId, nodeId, approved=True)


@post(
    "/v1/runs/{runId:str}/nodes/{nodeId:str}/deny",
    status_code=200,
    responses=documented(400, 404, 409, 413),
    summary="Deny a waiting node",
)
async def deny(
    request: AnyRequest, runId: FromPath[str], nodeId: FromPath[str]
) -> DecisionResponse:
    """Record a denial; a suspended run continues by itself."""
    return await decide(request, runId, nodeId, approved=False)


async def decide(
    request: AnyRequest, run_id: str, node_id: str, *, approved: bool
) -> DecisionResponse:
    """Approve or deny ``node_id`` of ``run_id`` from a request body."""
    ctx = context_of(request)
    body = parse_decision(await read_object(request))
    store, _ = await ctx.locate(run_id, writing=True)
    if body.iteration > store.reads.integer_range[1]:
        # beyond what this database stores (PostgreSQL: 32 bits): no node waits there
        raise ApprovalNotPending()
    status = await ctx.scheduler.decide(
        store,
        run_id,
        node_id,
        body.iteration,
        approved=approved,
        note=body.note,
        decided_by=body.decided_by,
    )
    await ctx.touched(store, run_id)
    return DecisionResponse(run_id=run_id, node_id=node_id, iteration=body.iteration, status=status)


async def _signal(request: AnyRequest, run_id: str, signal_name: str) -> SignalResponse:
    ctx = context_of(request)
    body = parse_signal(await read_object(request))
    name = parse_signal_name(signal_name)
    store, _ = await ctx.locate(run_id, writing=True)
    receipt = await ctx.scheduler.signal(
        store,
        run_id,
        name,
        body.data,
        correlation_id=body.correlation_id,
        received_by=body.received_by,
    )
    await ctx.touched(store, run_id)
    return SignalResponse(
        delivered=receipt.delivered,
        run_id=receipt.run_id,
        seq=receipt.seq,
        signal_name=receipt.signal_name,
        correlation_id=receipt.correlation_id,
        received_at_ms=receipt.received_at_ms,
    )


@post(
    "/v1/runs/{runId:str}/signals/{signalName:str}",
    status_code=200,
    responses=documented(400, 404, 413),
    summary="Send a signal to a run",
)
async def send_signal(
    request: AnyRequest, runId: FromPath[str], signalName: FromPath[str]
) -> SignalResponse:
    """Store a signal for the run; a node waiting for it continues."""
    return await _signal(request, runId, signalName)


@post(
    "/signal/{runId:str}/{signalName:str}",
    status_code=200,
    responses=documented(400, 404, 413),
    summary="Send a signal to a run (legacy path)",
)
async def send_signal_legacy(
    request: AnyRequest, runId: FromPath[str], signalName: FromPath[str]
) -> SignalResponse:
    """The legacy path of ``POST /v1/runs/{runId}/signals/{signalName}``."""
    return await _signal(request, runId, signalName)


@get("/v1/runs", responses=documented(400), summary="List runs")
async def list_runs(
    request: AnyRequest,
    limit: Annotated[str | None, QueryParameter(description="1..1000, default 50")] = None,
    status: Annotated[str | None, QueryParameter(description="only runs of this status")] = None,
    workflow: Annotated[
        str | None, QueryParameter(description="only runs of this workflow name")
    ] = None,
    before: Annotated[
        str | None,
        QueryParameter(
            description="only runs older than this one, given as {createdAtMs}:{runId} of the "
            "last run of the previous page"
        ),
    ] = None,
) -> list[RunListItem]:
    """Runs of the server database, newest first (ties by run id, descending)."""
    ctx = context_of(request)
    store = ctx.require_db()
    where = RunFilter(query_status(status), workflow)
    rows = await listing.list_runs(store.db, query_limit(limit), where, query_cursor(before))
    return [list_item(row) for row in rows]


@get("/v1/run-counts", responses=documented(400), summary="Runs by status")
async def run_counts(
    request: AnyRequest,
    workflow: Annotated[
        str | None, QueryParameter(description="only runs of this workflow name")
    ] = None,
) -> RunCounts:
    """How many runs of the server database have each status, and in all."""
    counts = await listing.count_runs(context_of(request).require_db().db, workflow)
    return RunCounts(total=sum(counts.values()), by_status=counts)


def list_item(row: RunRow) -> RunListItem:
    """One run of ``GET /v1/runs``: the row's fields ``RunListItem`` names (``input_json``,
    say, does not reach the listing), the config's database URL without its password."""
    return from_row(RunListItem, row, config_json=redact_config_json(row.config_json))


RUN_ROUTES = [
    start_run,
    resume_run,
    cancel_run,
    get_run,
    list_frames,
    approve,
    deny,
    send_signal,
    send_signal_legacy,
    list_runs,
    run_counts,
]
