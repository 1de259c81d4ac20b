"""A batch of typed row writes plus the events that describe them, committed in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

import msgspec

if TYPE_CHECKING:
    from smithers.store.outputs import OutputTable

__all__ = ["Batch", "EventLike", "StoredEvent", "TypedOutput", "Written"]


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


@dataclass(frozen=True, slots=True)
class TypedOutput:
    """A row of a per-Struct output table (``OutputTable.encode_row``): its columns are the
    Struct's fields, so it is a dict of them rather than a row type of its own."""

    table: OutputTable
    values: dict[str, Any]


Written: TypeAlias = msgspec.Struct | TypedOutput
"""What a batch writes: a row of ``smithers.store.rows`` (each type goes to its own table,
``smithers.store.statements.KINDS``) or a typed output."""


@dataclass(slots=True)
class Batch:
    """Rows of one run to write and the events that describe them.

    Rows are written in the order of their types in ``KINDS``, and in the order added within
    a type; an update (or upsert) of a row already in the batch is folded into it.
    """

    events: list[EventLike] = field(default_factory=list)
    rows: list[Written] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.events or self.rows)

    def write(self, *rows: Written) -> None:
        """Add rows."""
        self.rows.extend(rows)

    def emit(self, *events: EventLike) -> None:
        """Add events (their order is their seq order)."""
        self.events.extend(events)

    def merge(self, other: Batch) -> None:
        """Add ``other``'s rows and events ahead of this batch's own."""
        self.events[:0] = other.events
        self.rows[:0] = other.rows

    def output_tables(self) -> list[OutputTable]:
        """The per-Struct output tables the rows go to (created before the transaction)."""
        return [row.table for row in self.rows if isinstance(row, TypedOutput)]
