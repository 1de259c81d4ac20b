"""``create_app(settings)``: the Litestar application of the Smithers HTTP API.

Ahead of Litestar's routing, ``SmithersApp`` answers ``/health``, checks the bearer token,
rejects trailing-slash paths and empty path segments, turns ``OPTIONS`` into a 405, puts the
body limit on ``receive``, sets the security headers of every response, and records the HTTP
metrics.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.openapi import OpenAPIConfig
from litestar.types import HTTPResponseStartEvent, Message, Receive, Scope, Send

import smithers
from smithers import metrics
from smithers.errors import SmithersError
from smithers.server.approvals import APPROVAL_ROUTES
from smithers.server.auth import authorized
from smithers.server.context import ServerContext, context_of
from smithers.server.doc_parameters import describe_parameters
from smithers.server.docs import add_request_bodies, documented, drop_inferred_errors
from smithers.server.errors import (
    RouteNotFound,
    Unauthorized,
    error_answer,
    exception_handlers,
)
from smithers.server.events import EVENT_ROUTES
from smithers.server.inputs import (
    DecisionRequest,
    ResumeRequest,
    SignalRequest,
    StartRunRequest,
)
from smithers.server.limits import limit_body
from smithers.server.runs import RUN_ROUTES
from smithers.server.settings import ServerSettings
from smithers.server.stop_signals import on_stop_signals
from smithers.server.wire import Health
from smithers.store.store import Store

__all__ = ["SmithersApp", "create_app", "metrics_response"]

log = logging.getLogger(__name__)

HEALTH_BODY = b'{"ok":true}'
JSON = b"application/json"


def fix_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Security headers on every response; exact content types for SSE and JSON."""
    cache_control = nosniff = event_stream = False
    for name, value in headers:  # one pass: this runs for every response
        lowered = name.lower()
        if lowered == b"cache-control":
            cache_control = True
        elif lowered == b"x-content-type-options":
            nosniff = True
        elif lowered == b"content-type" and value.startswith(b"text/event-stream"):
            event_stream = True
    out = list(headers)
    if event_stream:
        out = [(n, b"text/event-stream" if n.lower() == b"content-type" else v) for n, v in out]
    elif not cache_control:
        out.append((b"cache-control", b"no-store"))
    if not nosniff:
        out.append((b"x-content-type-options", b"nosniff"))
    return out


async def send_json(
    send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    """A complete JSON response, for answers given before routing."""
    headers = [(b"content-type", JSON), (b"content-length", str(len(body)).encode())]
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": fix_headers(headers + (extra or [])),
    }
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def send_error(send: Send, exc: SmithersError) -> None:
    """The answer to ``exc`` (as the exception handlers give it), before routing."""
    status, body, headers = error_answer(exc)
    extra = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    await send_json(send, status, body, extra)


_BODILESS = frozenset(("GET", "HEAD"))
"""Methods whose routes never read a request body."""

_UNROUTED_METHOD = "OPTIONS (no route)"
"""What an ``OPTIONS`` request is routed as: a method no route has, so Litestar answers 405
with the path's full ``Allow``. Litestar would otherwise answer it itself with a 204 whose
``Allow`` lists the methods of one handler only; the contract has no OPTIONS route (no
CORS), and a known path with a method it does not serve is a 405."""


class SmithersApp(Litestar):
    """Litestar with the pre-routing checks of the HTTP contract."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        if scope["type"] != ScopeType.HTTP:
            await super().__call__(scope, receive, send)
            return
        http_scope = scope
        settings: ServerSettings = self.state["smithers"].settings
        path, method = http_scope["path"], http_scope["method"]
        if path == "/health" and method in ("GET", "HEAD"):
            await send_json(send, 200, HEALTH_BODY)
            return
        started = time.perf_counter()
        status = 500

        def tracked_send(message: Message) -> Awaitable[None]:
            # a plain function: body chunks (every SSE frame) pass without an extra coroutine
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = fix_headers(list(message.get("headers", [])))
            return send(message)

        try:
            token = settings.token
            if token is not None and not authorized(scope["headers"], token):
                await send_error(tracked_send, Unauthorized())
                return
            if (len(path) > 1 and path.endswith("/")) or "//" in path:
                # Litestar's router skips empty segments: //v1/runs would be served as /v1/runs
                await send_error(tracked_send, RouteNotFound())
                return
            if method == "OPTIONS":
                scope = {**scope, "method": _UNROUTED_METHOD}  # type: ignore[typeddict-item]
            if method not in _BODILESS:  # only routes that take a body are limited (§2)
                receive = limit_body(
                    scope, receive, settings.max_body_bytes, settings.body_read_timeout
                )
            await super().__call__(scope, receive, tracked_send)
        finally:
            route = scope.get("path_template") or "unmatched"
            metrics.record_request(method, route, status, (time.perf_counter() - started) * 1000)


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


def create_app(
    settings: ServerSettings | None = None, *, end_streams_on_stop_signals: bool = False
) -> SmithersApp:
    """The Smithers HTTP API as a Litestar app (the scheduler starts with its lifespan).

    ``end_streams_on_stop_signals``: SIGTERM/SIGINT end the open event streams at once (for a
    server process that owns its signals, such as a Granian worker).
    """
    settings = settings or ServerSettings()
    context = ServerContext.create(settings)
    routes: list[Any] = [health, *RUN_ROUTES, *EVENT_ROUTES, *APPROVAL_ROUTES]
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
    return app
