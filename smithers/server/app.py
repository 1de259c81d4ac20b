"""``create_app(settings)``: the Litestar application of the Smithers HTTP API.

Its routes are in ``routes``; ``http.prerouter.SmithersApp`` checks requests ahead of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig

import smithers
from smithers import metrics, secrets
from smithers.server.context import ServerContext, context_of
from smithers.server.http.doc_parameters import describe_parameters
from smithers.server.http.docs import add_request_bodies, documented, drop_inferred_errors
from smithers.server.http.errors import (
    exception_handlers,
)
from smithers.server.http.inputs import (
    DecisionRequest,
    ResumeRequest,
    SignalRequest,
    StartRunRequest,
)
from smithers.server.http.prerouter import SmithersApp
from smithers.server.http.wire import Health
from smithers.server.process.settings import ServerSettings
from smithers.server.process.stop_signals import on_stop_signals
from smithers.server.routes.approvals import APPROVAL_ROUTES
from smithers.server.routes.details import DETAIL_ROUTES
from smithers.server.routes.events import EVENT_ROUTES
from smithers.server.routes.runs import RUN_ROUTES
from smithers.store.store import Store
from smithers.tracing import setup as tracing_setup

__all__ = ["create_app", "health", "metrics_response"]

log = logging.getLogger(__name__)


@get("/health", summary="Liveness (no auth)", responses=documented(public=True))
async def health() -> Health:
    """Always ``{"ok": true}``; answered before authentication."""
    return Health()


@get(
    "/metrics",
    summary="Prometheus metrics",
    responses=documented(),
    media_type="text/plain; version=0.0.4",
)
async def metrics_text(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Prometheus text exposition of the server's metrics."""
    return await metrics_response(context_of(request).server_store)


async def metrics_response(store: Store | None, run_id: str | None = None) -> Response[bytes]:
    """The exposition, with the waiting approvals counted in ``store`` (of ``run_id`` only,
    when given) just before: a count kept from events would miss runs cancelled while waiting
    and restart at zero with the process."""
    if store is not None:
        try:
            metrics.approval_pending.set(await store.reads.count_waiting_approvals(run_id))
        except Exception:  # an unreadable database must not take the metrics down with it
            log.warning("counting waiting approvals failed; the gauge keeps its last value")
    return Response(metrics.render_metrics(), media_type="text/plain; version=0.0.4")


@asynccontextmanager
async def _lifespan(app: Litestar) -> AsyncIterator[None]:
    context: ServerContext = app.state["smithers"]
    await context.startup()
    if app.state.get("end_streams_on_stop_signals"):
        on_stop_signals(context.begin_stopping)
    try:
        yield
    finally:
        await context.shutdown()
        await asyncio.to_thread(tracing_setup.shutdown)  # the last spans, exported


def create_app(
    settings: ServerSettings | None = None, *, end_streams_on_stop_signals: bool = False
) -> SmithersApp:
    """The Smithers HTTP API as a Litestar app (the scheduler starts with its lifespan).

    ``end_streams_on_stop_signals``: SIGTERM/SIGINT end the open event streams at once (for a
    server process that owns its signals, such as a Granian worker).
    """
    settings = settings or ServerSettings()
    secrets.register(settings.token)  # never in a stored or shown error, nor a log line
    context = ServerContext.create(settings)
    routes: list[Any] = [health, *RUN_ROUTES, *DETAIL_ROUTES, *EVENT_ROUTES, *APPROVAL_ROUTES]
    if settings.metrics:
        routes.append(metrics_text)
    app = SmithersApp(
        route_handlers=routes,
        exception_handlers=exception_handlers,
        lifespan=[_lifespan],
        state=State(
            {"smithers": context, "end_streams_on_stop_signals": end_streams_on_stop_signals}
        ),
        request_max_body_size=None,  # limit_body enforces max_body_bytes with the contract's 413
        openapi_config=OpenAPIConfig(
            title="Smithers", version=smithers.__version__, path="/schema"
        ),
    )
    add_request_bodies(
        app.openapi_schema,
        {
            ("POST", "/v1/runs"): StartRunRequest,
            ("POST", "/v1/runs/{runId}/resume"): ResumeRequest,
            ("POST", "/v1/runs/{runId}/nodes/{nodeId}/approve"): DecisionRequest,
            ("POST", "/v1/runs/{runId}/nodes/{nodeId}/deny"): DecisionRequest,
            ("POST", "/v1/runs/{runId}/signals/{signalName}"): SignalRequest,
            ("POST", "/signal/{runId}/{signalName}"): SignalRequest,
        },
    )
    drop_inferred_errors(app.openapi_schema)
    describe_parameters(app.openapi_schema)
    # after Litestar configured logging (in its constructor): its handlers get the filter too
    secrets.install_log_redaction()
    return app
