"""Whether tracing is on: the tracer while it is (``None`` while it is off), and the trace
context of the request being handled.

Nothing here imports OpenTelemetry at run time: its types are named for mypy only.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentelemetry.trace import Span, SpanContext, Tracer, TracerProvider

__all__ = ["active", "caller", "disable", "enable", "flush", "request", "tracer"]

tracer: Tracer | None = None
"""Set by ``enable``; every helper does nothing while it is ``None``."""
_provider: TracerProvider | None = None

caller: contextvars.ContextVar[SpanContext | None] = contextvars.ContextVar(
    "smithers_trace_caller", default=None
)
"""The span context of a request's incoming ``traceparent``: a run it starts goes under it."""
request: contextvars.ContextVar[Span | None] = contextvars.ContextVar(
    "smithers_trace_request", default=None
)
"""The server span of the request being handled (a run it starts is named on it)."""


def enable(provider: TracerProvider) -> None:
    """Trace with ``provider`` from now on (``tracing.setup`` builds it from ``OTEL_*``)."""
    global tracer, _provider
    import smithers

    _provider = provider
    tracer = provider.get_tracer("smithers", smithers.__version__)


def disable() -> None:
    """Stop tracing (spans already started still end)."""
    global tracer, _provider
    tracer = _provider = None


def active() -> bool:
    """Whether spans are recorded."""
    return tracer is not None


def flush() -> None:
    """Export the spans that ended (at shutdown)."""
    force_flush = getattr(_provider, "force_flush", None)
    if force_flush is not None:
        force_flush()
