"""Serve mode (``smithers up <workflow> --serve``): the HTTP API scoped to one run.

The app shares the ``up`` process's scheduler and store; it has no lifespan of its own, so
the run keeps going (and the app keeps serving it) after the run ends, until the process is
stopped.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, QueryParameter
from litestar.response import Stream

from smithers.engine.scheduler import RunScheduler
from smithers.errors import ServedRunNotFound
from smithers.server.app import health, metrics_response
from smithers.server.context import Homes, ServerContext, context_of
from smithers.server.http.docs import documented
from smithers.server.http.errors import exception_handlers
from smithers.server.http.prerouter import SmithersApp
from smithers.server.http.wire import CancelResponse, DecisionResponse, FrameView, RunView
from smithers.server.process.settings import ServerSettings
from smithers.server.routes.events import events_of
from smithers.server.routes.runs import decide, frames_of, view_of
from smithers.store.store import Store

__all__ = ["create_serve_app"]

AnyRequest = Request[Any, Any, Any]


def _run_id(request: AnyRequest) -> str:
    run_id: str = request.app.state.run_id
    return run_id


@get("/", responses=documented(404), summary="The run's status and summary")
async def serve_run(request: AnyRequest) -> Response[RunView]:
    """Same body as ``GET /v1/runs/{runId}``."""
    return await view_of(request, _run_id(request))


@get(
    "/events",
    responses=documented(400, 404),
    summary="Server-Sent Events of the run",
    media_type="text/event-stream",
)
async def serve_events(
    request: AnyRequest,
    after_seq: Annotated[str | None, QueryParameter(name="afterSeq")] = None,
) -> Stream:
    """Same stream as ``GET /v1/runs/{runId}/events``."""
    return await events_of(request, _run_id(request), after_seq)


@get("/frames", responses=documented(400, 404), summary="Render frames of the run")
async def serve_frames(
    request: AnyRequest,
    limit: Annotated[str | None, QueryParameter()] = None,
    after_frame_no: Annotated[str | None, QueryParameter(name="afterFrameNo")] = None,
) -> list[FrameView]:
    """Same as ``GET /v1/runs/{runId}/frames``."""
    return await frames_of(request, _run_id(request), limit, after_frame_no)


@post("/approve/{nodeId:str}", status_code=200, responses=documented(400, 404, 409, 413))
async def serve_approve(request: AnyRequest, nodeId: FromPath[str]) -> DecisionResponse:
    """Approve a waiting node of the run."""
    return await decide(request, _run_id(request), nodeId, approved=True)


@post("/deny/{nodeId:str}", status_code=200, responses=documented(400, 404, 409, 413))
async def serve_deny(request: AnyRequest, nodeId: FromPath[str]) -> DecisionResponse:
    """Deny a waiting node of the run."""
    return await decide(request, _run_id(request), nodeId, approved=False)


@post("/cancel", status_code=200, responses=documented(404, 409))
async def serve_cancel(request: AnyRequest) -> CancelResponse:
    """Cancel the run."""
    ctx, run_id = context_of(request), _run_id(request)
    store, _ = await ctx.locate(run_id, writing=True)
    await ctx.scheduler.cancel_run(store, run_id)
    return CancelResponse(run_id=run_id)


@get("/metrics", responses=documented(), media_type="text/plain; version=0.0.4")
async def serve_metrics(request: AnyRequest) -> Response[bytes]:
    """Prometheus text exposition."""
    run_id = _run_id(request)
    return await metrics_response(context_of(request).homes.get(run_id), run_id)


def create_serve_app(
    settings: ServerSettings, scheduler: RunScheduler, store: Store, run_id: str
) -> SmithersApp:
    """The serve-mode app for ``run_id`` (``settings.metrics`` False leaves out ``/metrics``)."""
    context = ServerContext(
        settings,
        scheduler,
        server_store=None,
        homes=Homes({run_id: store}),
        missing_run=ServedRunNotFound,
    )
    routes: list[Any] = [
        health,
        serve_run,
        serve_events,
        serve_frames,
        serve_approve,
        serve_deny,
        serve_cancel,
    ]
    if settings.metrics:
        routes.append(serve_metrics)
    app = SmithersApp(
        route_handlers=routes,
        exception_handlers=exception_handlers,
        state=State({"smithers": context, "run_id": run_id}),
        openapi_config=None,
    )
    return app
