"""Run events: tagged msgspec Structs, camelCase on the wire, ``type`` first.

Every event carries ``type``, ``runId`` and ``timestampMs``; node events add ``nodeId`` and
``iteration``; attempt events add ``attempt``. The stored ``payload_json`` is exactly
``encode(event)``; ``seq`` lives beside it, not inside it.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

__all__ = [
    "ApprovalDenied",
    "ApprovalGranted",
    "ApprovalRequested",
    "Event",
    "FrameCommitted",
    "NodeCancelled",
    "NodeEvent",
    "NodeFailed",
    "NodeFinished",
    "NodeOutput",
    "NodePending",
    "NodeRetrying",
    "NodeSkipped",
    "NodeStarted",
    "NodeWaitingApproval",
    "NodeWaitingTimer",
    "RunCancelled",
    "RunFailed",
    "RunFinished",
    "RunStarted",
    "RunStatusChanged",
    "SignalReceived",
    "TaskHeartbeat",
    "TimerCancelled",
    "TimerCreated",
    "TimerFired",
    "TokenUsageReported",
    "ToolCallFinished",
    "ToolCallStarted",
    "encode_event",
]


class Event(msgspec.Struct, tag_field="type", rename="camel", kw_only=True):
    """Base of all events.

    Every field is encoded, defaults and ``null`` included, so each event carries every field
    its type lists; only an ``UNSET`` field (``NodeCancelled.attempt`` of a node with no
    attempt) is left out.
    """

    run_id: str
    timestamp_ms: int

    @property
    def type(self) -> str:
        """The event's ``type`` tag."""
        return type(self).__name__


class RunStarted(Event, tag=True, kw_only=True):
    """Every entry into the run loop: start, resume, wake-up, claim."""


class RunStatusChanged(Event, tag=True, kw_only=True):
    """The run entered a ``waiting-*`` status."""

    status: str


class RunFinished(Event, tag=True, kw_only=True):
    """The run finished."""


class RunCancelled(Event, tag=True, kw_only=True):
    """The run was cancelled."""


class RunFailed(Event, tag=True, kw_only=True):
    """The run failed; ``error`` is a string or ``{name, message, code?}``."""

    error: Any


class FrameCommitted(Event, tag=True, kw_only=True):
    """A new frame (a changed tree) was written."""

    frame_no: int
    xml_hash: str


class SignalReceived(Event, tag=True, kw_only=True):
    """A signal was stored for the run."""

    signal_name: str
    correlation_id: str | None
    seq: int


class NodeEvent(Event, kw_only=True):
    """Base of node events."""

    node_id: str
    iteration: int


class NodePending(NodeEvent, tag=True, kw_only=True):
    """The node became pending (not emitted during a retry wait)."""


class NodeStarted(NodeEvent, tag=True, kw_only=True):
    """An attempt row was inserted."""

    attempt: int


class NodeFinished(NodeEvent, tag=True, kw_only=True):
    """The node's output was committed."""

    attempt: int


class NodeFailed(NodeEvent, tag=True, kw_only=True):
    """An attempt failed; ``error`` is ``{name, message, code?}``."""

    attempt: int
    error: dict[str, Any]


class NodeRetrying(NodeEvent, tag=True, kw_only=True):
    """A failed node will run again; ``attempt`` is the next attempt's number."""

    attempt: int


class NodeCancelled(NodeEvent, tag=True, kw_only=True):
    """The node was cancelled: ``run-cancelled`` or ``interrupted``."""

    reason: str
    attempt: int | UnsetType = UNSET


class NodeSkipped(NodeEvent, tag=True, kw_only=True):
    """The node was skipped."""


class NodeWaitingApproval(NodeEvent, tag=True, kw_only=True):
    """The node waits for a human decision."""


class NodeWaitingTimer(NodeEvent, tag=True, kw_only=True):
    """The node waits for its timer."""

    fires_at_ms: int


class NodeOutput(NodeEvent, tag=True, kw_only=True):
    """Text logged by a task with ``TaskContext.log``."""

    attempt: int
    text: str
    stream: str = "stdout"


class TaskHeartbeat(NodeEvent, tag=True, kw_only=True):
    """A task recorded a heartbeat (throttled)."""

    attempt: int
    has_data: bool
    data_size_bytes: int


class ApprovalRequested(NodeEvent, tag=True, kw_only=True):
    """An approval was requested."""


class ApprovalGranted(NodeEvent, tag=True, kw_only=True):
    """An approval was granted."""


class ApprovalDenied(NodeEvent, tag=True, kw_only=True):
    """An approval was denied."""


class TimerCreated(NodeEvent, tag=True, kw_only=True):
    """A timer was created."""

    timer_id: str
    fires_at_ms: int
    timer_type: str


class TimerFired(NodeEvent, tag=True, kw_only=True):
    """A timer fired."""

    timer_id: str
    fires_at_ms: int
    fired_at_ms: int
    delay_ms: int


class TimerCancelled(NodeEvent, tag=True, kw_only=True):
    """A waiting timer was cancelled with its run."""

    timer_id: str
    fires_at_ms: int


class TokenUsageReported(NodeEvent, tag=True, kw_only=True):
    """The tokens of one model call of an agent (retries and output corrections included)."""

    attempt: int
    agent: str
    model: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int


class ToolCallStarted(NodeEvent, tag=True, kw_only=True):
    """A tool call began (by task code or an agent); ``input`` is cut at 4 KiB."""

    attempt: int
    call_id: str
    tool: str
    input: Any


class ToolCallFinished(NodeEvent, tag=True, kw_only=True):
    """A tool call ended: ``ok``, or ``error`` with the error (an interrupted call included)."""

    attempt: int
    call_id: str
    tool: str
    status: str
    duration_ms: int
    output_bytes: int
    error: dict[str, Any] | UnsetType = UNSET


_encoder = msgspec.json.Encoder()


def encode_event(event: Event) -> bytes:
    """The event's JSON, as stored and as sent to clients."""
    return _encoder.encode(event)
