"""Tracing: every span name and attribute key (docs/observability.md), no-ops while off.

Call sites use the helpers below (``with tracing.task_span(...) as span:``). While tracing is
off (``enable`` never called) each helper returns one shared do-nothing object, and nothing of
OpenTelemetry is imported: ``tracing.setup`` switches it on from the environment.

Spans record an error as its type and message only (without the secrets the process knows:
``smithers.secrets``), never bodies, inputs, tokens or credentials; the attributes below are
the only ones set.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from smithers.secrets import redact

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span, SpanContext, Tracer, TracerProvider

__all__ = [
    "SPAN_BODY",
    "SPAN_RUN",
    "SPAN_TASK",
    "SPAN_WORKFLOW",
    "RequestTrace",
    "RunTrace",
    "SpanLike",
    "active",
    "begin_run",
    "body_span",
    "disable",
    "enable",
    "end_run",
    "flush",
    "model_span",
    "new_trace_context",
    "record_error",
    "running",
    "start_request",
    "task_span",
    "tool_span",
    "workflow_span",
]

SPAN_BODY = "smithers.body.parse"
SPAN_WORKFLOW = "smithers.workflow.load"
SPAN_RUN = "smithers.run"
SPAN_TASK = "smithers.task"
SPAN_TOOL = "smithers.tool"
"""Named ``smithers.tool {name}``; a model call is ``chat {model}``, a request
``{METHOD} {route}``."""

RUN_ID = "smithers.run_id"
BODY_BYTES = "smithers.body.bytes"
WORKFLOW_PATH = "smithers.workflow.path"
WORKFLOW_HASH = "smithers.workflow.hash"
WORKFLOW_CACHED = "smithers.workflow.cached"
WORKFLOW_NAME = "smithers.workflow.name"
RUN_STATUS = "smithers.run.status"
NODE_ID = "smithers.node_id"
ITERATION = "smithers.iteration"
ATTEMPT = "smithers.attempt"
NODE_STATE = "smithers.node.state"
TOOL_NAME = "smithers.tool.name"
TOOL_STATUS = "smithers.tool.status"
HTTP_METHOD = "http.request.method"
HTTP_ROUTE = "http.route"
HTTP_STATUS = "http.response.status_code"
GENAI_OPERATION = "gen_ai.operation.name"
GENAI_SYSTEM = "gen_ai.system"
GENAI_MODEL = "gen_ai.request.model"
GENAI_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GENAI_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"


class SpanLike(Protocol):
    """What call sites may do with the span a helper gives them."""

    def set_attribute(self, key: str, value: Any) -> Any: ...


class _Off:
    """The span and context manager of every helper while tracing is off."""

    __slots__ = ()

    def __enter__(self) -> _Off:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def set_attribute(self, key: str, value: Any) -> None:
        return None


_OFF = _Off()
_tracer: Tracer | None = None
_provider: TracerProvider | None = None
_caller: contextvars.ContextVar[SpanContext | None] = contextvars.ContextVar(
    "smithers_trace_caller", default=None
)
"""The span context of a request's incoming ``traceparent``: a run it starts goes under it."""
_request: contextvars.ContextVar[Span | None] = contextvars.ContextVar(
    "smithers_trace_request", default=None
)
"""The server span of the request being handled (a run it starts is named on it)."""


def enable(provider: TracerProvider) -> None:
    """Trace with ``provider`` from now on (``tracing.setup`` builds it from ``OTEL_*``)."""
    global _tracer, _provider
    import smithers

    _provider = provider
    _tracer = provider.get_tracer("smithers", smithers.__version__)


def disable() -> None:
    """Stop tracing (spans already started still end)."""
    global _tracer, _provider
    _tracer = _provider = None


def active() -> bool:
    """Whether spans are recorded."""
    return _tracer is not None


def flush() -> None:
    """Export the spans that ended (at shutdown)."""
    force_flush = getattr(_provider, "force_flush", None)
    if force_flush is not None:
        force_flush()


def record_error(span: SpanLike, exc: BaseException) -> None:
    """Mark ``span`` failed with the exception's type and message (no stack, no values)."""
    if span is _OFF:
        return
    from opentelemetry.trace import Status, StatusCode

    text = redact(str(exc))
    message = f"{type(exc).__name__}: {text}"[:1000]
    real: Span = span  # type: ignore[assignment]
    real.set_status(Status(StatusCode.ERROR, message))
    real.add_event(
        "exception",
        {"exception.type": type(exc).__name__, "exception.message": text[:1000]},
    )


@contextmanager
def _span(name: str, attributes: dict[str, Any], kind: str = "INTERNAL") -> Iterator[SpanLike]:
    from opentelemetry.trace import SpanKind

    assert _tracer is not None
    with _tracer.start_as_current_span(
        name,
        kind=SpanKind[kind],
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield span
        except Exception as exc:
            record_error(span, exc)
            raise


def body_span() -> Any:
    """Around reading and decoding a request body; the caller sets ``BODY_BYTES``."""
    if _tracer is None:
        return _OFF
    return _span(SPAN_BODY, {})


def workflow_span(path: str) -> Any:
    """Around loading a workflow file; the caller sets ``WORKFLOW_HASH``/``WORKFLOW_CACHED``."""
    if _tracer is None:
        return _OFF
    return _span(SPAN_WORKFLOW, {WORKFLOW_PATH: path})


def task_span(node_id: str, iteration: int, attempt: int) -> Any:
    """Around one attempt of a task (under the run's span); the caller sets ``NODE_STATE``."""
    if _tracer is None:
        return _OFF
    return _span(SPAN_TASK, {NODE_ID: node_id, ITERATION: iteration, ATTEMPT: attempt})


def model_span(system: str, model: str) -> Any:
    """Around one model call (GenAI conventions); usage is set with ``GENAI_*_TOKENS``."""
    if _tracer is None:
        return _OFF
    attributes = {GENAI_OPERATION: "chat", GENAI_SYSTEM: system, GENAI_MODEL: model}
    return _span(f"chat {model}", attributes, "CLIENT")


def tool_span(name: str) -> Any:
    """Around one tool call; the caller sets ``TOOL_STATUS``."""
    if _tracer is None:
        return _OFF
    return _span(f"{SPAN_TOOL} {name}", {TOOL_NAME: name})


class RequestTrace:
    """The server span of one HTTP request, current while the request is handled."""

    def __init__(self, tracer: Tracer, method: str, headers: Any) -> None:
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
        self._caller = _caller.set(caller if caller.is_valid else None)
        self._request = _request.set(self.span)

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
        _request.reset(self._request)
        _caller.reset(self._caller)
        context.detach(self._token)


def start_request(method: str, headers: Any) -> RequestTrace | None:
    """The server span of a request (``None`` while tracing is off)."""
    if _tracer is None:
        return None
    return RequestTrace(_tracer, method, headers)


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
    if _tracer is None:
        return None
    from opentelemetry import trace
    from opentelemetry.context import Context
    from opentelemetry.trace import Link, NonRecordingSpan
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    w3c = TraceContextTextMapPropagator()
    caller = _caller.get()
    if stored is not None:
        parent = w3c.extract({"traceparent": stored})
    elif caller is not None:
        parent = trace.set_span_in_context(NonRecordingSpan(caller))
    else:
        parent = Context()
    current = trace.get_current_span().get_span_context()
    span = _tracer.start_span(
        SPAN_RUN,
        context=parent,
        links=[Link(current)] if current.is_valid else None,
        attributes={RUN_ID: run_id, WORKFLOW_NAME: workflow_name},
    )
    request = _request.get()
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
    if _tracer is None:
        return None
    import random

    caller = _caller.get()
    if caller is not None:
        trace_id, span_id = caller.trace_id, caller.span_id
    else:
        trace_id, span_id = random.getrandbits(128) or 1, random.getrandbits(64) or 1
    return f"00-{trace_id:032x}-{span_id:016x}-01"


def running(run: RunTrace | None) -> Any:
    """Make the run's span current (the attempts started meanwhile are its children)."""
    if run is None:
        return _OFF
    from opentelemetry import trace

    # a crash of the loop is recorded by ``end_run`` (message only), not here with its stack
    return trace.use_span(
        run.span, end_on_exit=False, record_exception=False, set_status_on_exception=False
    )


def end_run(run: RunTrace | None, status: str, error: Any = None) -> None:
    """End the run's span with how its execution here ended; ``error`` (the run's error: a
    message, or JSON with a name and message) becomes the span's error status."""
    if run is None:
        return
    from opentelemetry.trace import Status, StatusCode

    run.span.set_attribute(RUN_STATUS, status)
    if isinstance(error, dict):
        message = f"{error.get('name', 'Error')}: {error.get('message', '')}"
        run.span.set_status(Status(StatusCode.ERROR, redact(message)[:1000]))
    elif error is not None or status == "failed":
        message = redact(str(error or "the run failed"))
        run.span.set_status(Status(StatusCode.ERROR, message[:1000]))
    run.span.end()
