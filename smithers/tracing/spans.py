"""The spans of a run's steps, one helper each, and what a call site may do with them.

``with tracing.task_span(...) as span:`` — while tracing is off every helper returns ``OFF``,
one shared object that is its own context manager and span and does nothing, so a step costs
a function call and a ``None`` test; OpenTelemetry is imported only while tracing is on.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Literal, Protocol, cast

from smithers.secrets import redact
from smithers.tracing import switch
from smithers.tracing.names import (
    ATTEMPT,
    GENAI_MODEL,
    GENAI_OPERATION,
    GENAI_SYSTEM,
    ITERATION,
    NODE_ID,
    SPAN_BODY,
    SPAN_TASK,
    SPAN_TOOL,
    SPAN_WORKFLOW,
    TOOL_NAME,
    WORKFLOW_PATH,
)

if TYPE_CHECKING:
    from opentelemetry.trace import Span

__all__ = [
    "OFF",
    "AttributeValue",
    "Off",
    "SpanLike",
    "SpanScope",
    "body_span",
    "model_span",
    "record_error",
    "task_span",
    "tool_span",
    "workflow_span",
]

AttributeValue = str | bool | int | float
"""What an attribute of a Smithers span holds."""


class SpanLike(Protocol):
    """What call sites may do with the span a helper gives them."""

    def set_attribute(self, key: str, value: AttributeValue) -> None: ...


SpanScope = AbstractContextManager[SpanLike]
"""What a helper returns: ``with`` it, the step is inside the span."""


class Off:
    """The span and context manager of every helper while tracing is off."""

    __slots__ = ()

    def __enter__(self) -> Off:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        return None


OFF = Off()


def record_error(span: SpanLike, exc: BaseException) -> None:
    """Mark ``span`` failed with the exception's type and message (no stack, no values)."""
    if span is OFF:
        return
    from opentelemetry.trace import Status, StatusCode

    text = redact(str(exc))
    message = f"{type(exc).__name__}: {text}"[:1000]
    real = cast("Span", span)  # every span but OFF is one of OpenTelemetry's
    real.set_status(Status(StatusCode.ERROR, message))
    real.add_event(
        "exception",
        {"exception.type": type(exc).__name__, "exception.message": text[:1000]},
    )


@contextmanager
def _span(
    name: str,
    attributes: Mapping[str, AttributeValue],
    kind: Literal["INTERNAL", "CLIENT"] = "INTERNAL",
) -> Iterator[SpanLike]:
    from opentelemetry.trace import SpanKind

    assert switch.tracer is not None
    with switch.tracer.start_as_current_span(
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


def body_span() -> SpanScope:
    """Around reading and decoding a request body; the caller sets ``BODY_BYTES``."""
    if switch.tracer is None:
        return OFF
    return _span(SPAN_BODY, {})


def workflow_span(path: str) -> SpanScope:
    """Around loading a workflow file; the caller sets ``WORKFLOW_HASH``/``WORKFLOW_CACHED``."""
    if switch.tracer is None:
        return OFF
    return _span(SPAN_WORKFLOW, {WORKFLOW_PATH: path})


def task_span(node_id: str, iteration: int, attempt: int) -> SpanScope:
    """Around one attempt of a task (under the run's span); the caller sets ``NODE_STATE``."""
    if switch.tracer is None:
        return OFF
    return _span(SPAN_TASK, {NODE_ID: node_id, ITERATION: iteration, ATTEMPT: attempt})


def model_span(system: str, model: str) -> SpanScope:
    """Around one model call (GenAI conventions); usage is set with ``GENAI_*_TOKENS``."""
    if switch.tracer is None:
        return OFF
    attributes = {GENAI_OPERATION: "chat", GENAI_SYSTEM: system, GENAI_MODEL: model}
    return _span(f"chat {model}", attributes, "CLIENT")


def tool_span(name: str) -> SpanScope:
    """Around one tool call; the caller sets ``TOOL_STATUS``."""
    if switch.tracer is None:
        return OFF
    return _span(f"{SPAN_TOOL} {name}", {TOOL_NAME: name})
