"""``SmithersApp``: Litestar with the checks the HTTP contract puts ahead of routing.

It answers ``/health``, serves the console's files (``smithers.console``), checks the bearer
token, rejects trailing-slash paths and empty path segments, turns ``OPTIONS`` into a 405,
puts the body limit on ``receive``, sets the security headers of every response, records the
HTTP metrics and, with tracing on, opens the request's server span (``/health``, ``/metrics``
and the console are not traced).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable

from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.enums import ScopeType
from litestar.types import HTTPResponseStartEvent, Message, Receive, Scope, Send

from smithers import metrics, tracing
from smithers.console import CONSOLE_PREFIX, SECURITY_HEADERS, console_for
from smithers.errors import SmithersError
from smithers.server.http.auth import authorized
from smithers.server.http.errors import MethodNotAllowed, RouteNotFound, Unauthorized, error_answer
from smithers.server.http.limits import limit_body
from smithers.server.process.settings import ServerSettings

__all__ = ["SmithersApp", "fix_headers", "send_error", "send_json"]

HEALTH_BODY = b'{"ok":true}'
HEALTH_UNSANDBOXED_BODY = b'{"ok":true,"sandbox":"none"}'
"""``/health`` of a server started with ``--sandbox none``: operators see it is unsafe."""
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

    async def _console(self, send: Send, path: str, method: str) -> None:
        """The console's files: no auth (they hold no data), their own security headers."""
        if method not in ("GET", "HEAD"):
            await send_error(send, MethodNotAllowed("GET, HEAD"))
            return
        if path == CONSOLE_PREFIX:
            await send_json(send, 308, b"", [(b"location", CONSOLE_PREFIX.encode() + b"/")])
            return
        asset = console_for("serve" if "run_id" in self.state else "server").lookup(path)
        if asset is None:
            await send_error(send, RouteNotFound())
            return
        headers = [
            (b"content-type", asset.content_type),
            (b"content-length", str(len(asset.body)).encode()),
            (b"cache-control", asset.cache_control),
            *SECURITY_HEADERS,
        ]
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": 200,
            "headers": fix_headers(headers),
        }
        await send(start)
        body = b"" if method == "HEAD" else asset.body
        await send({"type": "http.response.body", "body": body, "more_body": False})

    @staticmethod
    def _patch_opentelemetry_middleware(config: AppConfig) -> AppConfig:
        """Litestar's hook for its own OpenTelemetry middleware, which this app does not use
        (``smithers.tracing`` makes the spans): it imported ``opentelemetry`` for every app
        made, and with tracing off nothing of it is imported."""
        return config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        if scope["type"] != ScopeType.HTTP:
            await super().__call__(scope, receive, send)
            return
        http_scope = scope
        settings: ServerSettings = self.state["smithers"].settings
        path, method = http_scope["path"], http_scope["method"]
        if path == "/health" and method in ("GET", "HEAD"):
            unsandboxed = settings.sandbox == "none"
            await send_json(send, 200, HEALTH_UNSANDBOXED_BODY if unsandboxed else HEALTH_BODY)
            return
        if path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/"):
            await self._console(send, path, method)
            return
        started = time.perf_counter()
        status = 500
        traced = tracing.start_request(method, scope["headers"]) if path != "/metrics" else None

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
            template = scope.get("path_template")
            route = template or "unmatched"
            metrics.record_request(method, route, status, (time.perf_counter() - started) * 1000)
            if traced is not None:
                run_id = (scope.get("path_params") or {}).get("runId")
                traced.end(template, status, run_id if isinstance(run_id, str) else None)
