"""What a tool call leaves behind: its start and its end, as a ``ToolRecorder`` hears them.

The engine's recorder writes them to ``_smithers_tool_calls`` and emits ``ToolCallStarted``
and ``ToolCallFinished``; a ``Toolbox`` without a recorder (a tool called outside a run)
records nothing. Inputs and outputs are kept as JSON of bounded size.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import msgspec

__all__ = [
    "MAX_STORED_JSON_BYTES",
    "CallEnd",
    "CallStart",
    "CallStatus",
    "ToolRecorder",
    "bounded_json",
    "new_call_id",
]

MAX_STORED_JSON_BYTES = 64 * 1024
"""A call's input or output is stored whole up to this size, else cut (see ``bounded_json``)."""

CallStatus = Literal["in-progress", "ok", "error", "interrupted"]
"""A logged call's status: ``interrupted`` when it was cancelled, or found unfinished when
its run was taken over."""

_encoder = msgspec.json.Encoder()


def new_call_id() -> str:
    """An id for a call that does not come with one (task code's calls)."""
    return "call_" + secrets.token_hex(12)


def bounded_json(value: Any, limit: int = MAX_STORED_JSON_BYTES) -> tuple[str, int]:
    """``value`` as JSON text of at most about ``limit`` bytes, and its full size.

    A value too large is kept as ``{"truncated": true, "bytes": N, "head": "<JSON text>"}``,
    the head cut at a character boundary.
    """
    try:
        encoded = _encoder.encode(value)
    except (TypeError, msgspec.EncodeError):
        encoded = _encoder.encode(repr(value))
    size = len(encoded)
    if size <= limit:
        return encoded.decode(), size
    head = encoded[:limit].decode(errors="ignore")
    return _encoder.encode({"truncated": True, "bytes": size, "head": head}).decode(), size


@dataclass(frozen=True, slots=True)
class CallStart:
    """A call about to run."""

    call_id: str
    tool: str
    input_json: str
    """The arguments as given, as JSON (``bounded_json``)."""
    started_at_ms: int


@dataclass(frozen=True, slots=True)
class CallEnd:
    """A call that ended."""

    call_id: str
    tool: str
    status: CallStatus
    output_json: str | None
    """The result as JSON (``bounded_json``; ``None`` unless ``ok``)."""
    output_bytes: int
    """The size of the result's full JSON."""
    error: dict[str, Any] | None
    started_at_ms: int
    finished_at_ms: int


class ToolRecorder(Protocol):
    """Hears each call of a ``Toolbox``: the start (awaited: it is durable before the call
    runs) and the end."""

    async def started(self, call: CallStart) -> None: ...

    def finished(self, call: CallEnd) -> None: ...
