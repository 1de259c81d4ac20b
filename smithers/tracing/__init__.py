"""Tracing: every span name and attribute key (docs/observability.md), no-ops while off.

Call sites use the helpers (``with tracing.task_span(...) as span:``). While tracing is off
(``enable`` never called) each helper returns one shared do-nothing object, and nothing of
OpenTelemetry is imported: ``tracing.setup`` switches it on from the environment.

Spans record an error as its type and message only (without the secrets the process knows:
``smithers.secrets``), never bodies, inputs, tokens or credentials; the attributes named in
``names`` are the only ones set. The modules, by role:

- ``names``: the span names and attribute keys;
- ``switch``: on or off (``enable``, ``disable``, ``active``, ``flush``) and the trace context
  of the request being handled;
- ``spans``: the helpers around a step (a body, a workflow load, a task attempt, a model call,
  a tool call) and ``record_error``;
- ``request`` and ``run``: OpenTelemetry's spans of a request served and of a run's
  execution, with the trace context a run keeps;
- ``setup``: switching it on from the ``OTEL_*`` environment.

Everything but ``setup`` is re-exported here: call sites write ``tracing.task_span``.
"""

from __future__ import annotations

from smithers.tracing import names
from smithers.tracing.names import *  # noqa: F403 (every span name and attribute key)
from smithers.tracing.request import RawHeaders, RequestTrace, start_request
from smithers.tracing.run import RunError, RunTrace, begin_run, end_run, new_trace_context, running
from smithers.tracing.spans import (
    AttributeValue,
    SpanLike,
    SpanScope,
    body_span,
    model_span,
    record_error,
    task_span,
    tool_span,
    workflow_span,
)
from smithers.tracing.switch import active, disable, enable, flush

__all__ = [
    "AttributeValue",
    "RawHeaders",
    "RequestTrace",
    "RunError",
    "RunTrace",
    "SpanLike",
    "SpanScope",
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
__all__ += names.__all__
