"""The span of one execution of a run, and the trace context a run keeps across them
(OpenTelemetry's, made only while tracing is on)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from smithers.secrets import redact
from smithers.tracing import switch
from smithers.tracing.names import RUN_ID, RUN_STATUS, SPAN_RUN, WORKFLOW_NAME
from smithers.tracing.spans import OFF, SpanScope

if TYPE_CHECKING:
    from opentelemetry.trace import Span

__all__ = ["RunError", "RunTrace", "begin_run", "end_run", "new_trace_context", "running"]

RunError = str | Mapping[str, object] | None
"""A run's error as the engine keeps it: a message, or JSON with a name and a message."""


class RunTrace:
    """The span of one run's execution in this process (a start, resume, wake-up or claim)."""

    def __init__(self, span: Span, traceparent: str) -> None:
        self.span = span
        self.traceparent = traceparent
        """The trace context the run keeps: later executions of the run continue under it."""


def begin_run(run_id: str, workflow_name: str, stored: str | None) -> RunTrace | None:
    """Start the span of a run's execution.

    Its parent is the trace context the run ``stored``; else, for a run's first execution,
    the incoming ``traceparent`` of the request that started it (a new trace without one).
    It is linked, not parented, to the current span: the request that started or resumed it.
    """
    if switch.tracer is None:
        return None
    from opentelemetry import trace
    from opentelemetry.context import Context
    from opentelemetry.trace import Link, NonRecordingSpan
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    w3c = TraceContextTextMapPropagator()
    caller = switch.caller.get()
    if stored is not None:
        parent = w3c.extract({"traceparent": stored})
    elif caller is not None:
        parent = trace.set_span_in_context(NonRecordingSpan(caller))
    else:
        parent = Context()
    current = trace.get_current_span().get_span_context()
    span = switch.tracer.start_span(
        SPAN_RUN,
        context=parent,
        links=[Link(current)] if current.is_valid else None,
        attributes={RUN_ID: run_id, WORKFLOW_NAME: workflow_name},
    )
    request = switch.request.get()
    if request is not None:
        request.set_attribute(RUN_ID, run_id)
    if stored is None:
        carrier: dict[str, str] = {}
        w3c.inject(carrier, trace.set_span_in_context(span))
        stored = carrier.get("traceparent")
    return RunTrace(span, stored or "")


def new_trace_context() -> str | None:
    """A trace context for a run that has none (started while tracing was off): the current
    request's caller's, else a new trace. Its executions from now on are children of it (an
    anchor no process exports when it is a new trace). ``None`` while tracing is off."""
    if switch.tracer is None:
        return None
    import random

    caller = switch.caller.get()
    if caller is not None:
        trace_id, span_id = caller.trace_id, caller.span_id
    else:
        trace_id, span_id = random.getrandbits(128) or 1, random.getrandbits(64) or 1
    return f"00-{trace_id:032x}-{span_id:016x}-01"


def running(run: RunTrace | None) -> SpanScope:
    """Make the run's span current (the attempts started meanwhile are its children)."""
    if run is None:
        return OFF
    from opentelemetry import trace

    # a crash of the loop is recorded by ``end_run`` (message only), not here with its stack
    return trace.use_span(
        run.span, end_on_exit=False, record_exception=False, set_status_on_exception=False
    )


def end_run(run: RunTrace | None, status: str, error: RunError = None) -> None:
    """End the run's span with how its execution here ended; ``error`` (the run's error: a
    message, or JSON with a name and message) becomes the span's error status."""
    if run is None:
        return
    from opentelemetry.trace import Status, StatusCode

    run.span.set_attribute(RUN_STATUS, status)
    if isinstance(error, Mapping):
        message = f"{error.get('name', 'Error')}: {error.get('message', '')}"
        run.span.set_status(Status(StatusCode.ERROR, redact(message)[:1000]))
    elif error is not None or status == "failed":
        message = redact(str(error or "the run failed"))
        run.span.set_status(Status(StatusCode.ERROR, message[:1000]))
    run.span.end()
