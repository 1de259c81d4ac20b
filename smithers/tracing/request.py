"""The server span of one HTTP request (OpenTelemetry's, made only while tracing is on)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from smithers.tracing import switch
from smithers.tracing.names import HTTP_METHOD, HTTP_ROUTE, HTTP_STATUS, RUN_ID

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Tracer

__all__ = ["RawHeaders", "RequestTrace", "start_request"]

RawHeaders = Iterable[tuple[bytes, bytes]]
"""A request's headers as ASGI gives them."""


class RequestTrace:
    """The server span of one HTTP request, current while the request is handled."""

    def __init__(self, tracer: Tracer, method: str, headers: RawHeaders) -> None:
        from opentelemetry import context, propagate, trace

        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in headers
            if name in (b"traceparent", b"tracestate")
        }
        parent: Context = propagate.extract(carrier)
        caller = trace.get_current_span(parent).get_span_context()
        self.method = method
        self.span = tracer.start_span(
            method,
            context=parent,
            kind=trace.SpanKind.SERVER,
            attributes={HTTP_METHOD: method},
        )
        self._token = context.attach(trace.set_span_in_context(self.span, parent))
        self._caller = switch.caller.set(caller if caller.is_valid else None)
        self._request = switch.request.set(self.span)

    def end(self, route: str | None, status: int, run_id: str | None) -> None:
        """End the span: named by the route template, with the answer's status."""
        from opentelemetry import context
        from opentelemetry.trace import Status, StatusCode

        if route is not None:
            self.span.update_name(f"{self.method} {route}")
            self.span.set_attribute(HTTP_ROUTE, route)
        self.span.set_attribute(HTTP_STATUS, status)
        if run_id is not None:
            self.span.set_attribute(RUN_ID, run_id)
        if status >= 500:
            self.span.set_status(Status(StatusCode.ERROR))
        self.span.end()
        switch.request.reset(self._request)
        switch.caller.reset(self._caller)
        context.detach(self._token)


def start_request(method: str, headers: RawHeaders) -> RequestTrace | None:
    """The server span of a request (``None`` while tracing is off)."""
    if switch.tracer is None:
        return None
    return RequestTrace(switch.tracer, method, headers)
