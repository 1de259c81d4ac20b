"""A batch of row changes plus the events that describe them, committed in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from smithers.store.outputs import OutputTable

__all__ = ["Batch", "EventLike", "StoredEvent"]


class EventLike(Protocol):
    """What the store needs of an event: a type, a timestamp, and msgspec-encodability."""

    @property
    def type(self) -> str: ...

    timestamp_ms: int


@dataclass(slots=True)
class StoredEvent:
    """An event as committed: its per-run ``seq`` and its exact JSON."""

    run_id: str
    seq: int
    type: str
    timestamp_ms: int
    payload_json: str
    encoded: bytes | None = None
    """A consumer's wire form of this event (an SSE frame), computed once and shared."""


@dataclass(slots=True)
class Batch:
    """Row changes of one run. Empty lists mean nothing to do for that table."""

    events: list[EventLike] = field(default_factory=list)
    run_update: dict[str, Any] = field(default_factory=dict)
    node_upserts: list[dict[str, Any]] = field(default_factory=list)
    attempt_inserts: list[dict[str, Any]] = field(default_factory=list)
    attempt_updates: list[dict[str, Any]] = field(default_factory=list)
    typed_outputs: list[tuple[OutputTable, dict[str, Any]]] = field(default_factory=list)
    untyped_outputs: list[dict[str, Any]] = field(default_factory=list)
    approval_upserts: list[dict[str, Any]] = field(default_factory=list)
    loop_upserts: list[dict[str, Any]] = field(default_factory=list)
    signal_inserts: list[dict[str, Any]] = field(default_factory=list)
    tool_call_inserts: list[dict[str, Any]] = field(default_factory=list)
    tool_call_updates: list[dict[str, Any]] = field(default_factory=list)
    transcript_inserts: list[dict[str, Any]] = field(default_factory=list)
    frame: dict[str, Any] | None = None
    output_schemas: dict[str, Any] | None = None
    """The run's ``_smithers_output_schemas`` row (written when a workflow is loaded to run)."""

    def __bool__(self) -> bool:
        return bool(
            self.events
            or self.run_update
            or self.node_upserts
            or self.attempt_inserts
            or self.attempt_updates
            or self.typed_outputs
            or self.untyped_outputs
            or self.approval_upserts
            or self.loop_upserts
            or self.signal_inserts
            or self.tool_call_inserts
            or self.tool_call_updates
            or self.transcript_inserts
            or self.frame
            or self.output_schemas
        )

    def merge(self, other: Batch) -> None:
        """Add ``other``'s changes (written before this batch's own events)."""
        assert other.frame is None or self.frame is None, "one frame per batch"
        self.events[:0] = other.events
        self.run_update = {**other.run_update, **self.run_update}
        for name in (
            "node_upserts",
            "attempt_inserts",
            "attempt_updates",
            "typed_outputs",
            "untyped_outputs",
            "approval_upserts",
            "loop_upserts",
            "signal_inserts",
            "tool_call_inserts",
            "tool_call_updates",
            "transcript_inserts",
        ):
            getattr(self, name)[:0] = getattr(other, name)
        self.frame = self.frame or other.frame
        self.output_schemas = self.output_schemas or other.output_schemas

    def emit(self, *events: EventLike) -> None:
        """Add events (their order is their seq order)."""
        self.events.extend(events)
