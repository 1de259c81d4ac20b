"""The tool-call log of a run: what each call of an attempt writes, and what a take-over does
with calls it finds unfinished.

A call's start is committed before the tool runs (``ToolCallStarted`` and an ``in-progress``
row), so a crash during the call leaves a trace; its end (``ToolCallFinished``, the row's
status, output and error) goes with the run's next commit. A claim ends every call still
``in-progress`` as ``interrupted``: the process that ran it is gone, and the call is never
re-run behind anyone's back.
"""

from __future__ import annotations

from typing import TypedDict

import msgspec

from smithers.engine import events as ev
from smithers.engine.side_channel import RunningAttempt, SideChannel
from smithers.engine.writes import Change
from smithers.errors import ToolInterrupted
from smithers.store.rows import ToolCallRow, ToolCallUpdate

__all__ = ["EVENT_INPUT_LIMIT", "AttemptToolLog", "interrupt_open_calls"]

EVENT_INPUT_LIMIT = 4096
"""A ``ToolCallStarted`` carries the call's input whole up to this many bytes of JSON, else
the first bytes of it as a string."""


def event_input(input_json: str | None) -> object:
    """The ``input`` of a ``ToolCallStarted``: the arguments, or their JSON cut at 4 KiB."""
    encoded = (input_json or "null").encode()
    if len(encoded) <= EVENT_INPUT_LIMIT:
        return msgspec.json.decode(encoded)
    return encoded[:EVENT_INPUT_LIMIT].decode(errors="ignore") + "…"


def _ended(row: ToolCallRow) -> ToolCallUpdate:
    """The update of an ended call's row: its key and the columns an end sets, as ``row``
    has them."""
    return ToolCallUpdate(**{name: getattr(row, name) for name in ToolCallUpdate.__struct_fields__})


class _CallFields(TypedDict):
    """The fields both events of a call carry."""

    run_id: str
    timestamp_ms: int
    node_id: str
    iteration: int
    attempt: int
    call_id: str
    tool: str


def _call_fields(row: ToolCallRow, timestamp_ms: int) -> _CallFields:
    return {
        "run_id": row.run_id,
        "timestamp_ms": timestamp_ms,
        "node_id": row.node_id,
        "iteration": row.iteration,
        "attempt": row.attempt,
        "call_id": row.call_id,
        "tool": row.tool,
    }


def _finished_event(row: ToolCallRow, output_bytes: int) -> ev.ToolCallFinished:
    finished_at_ms = row.finished_at_ms if row.finished_at_ms is not None else row.started_at_ms
    return ev.ToolCallFinished(
        **_call_fields(row, finished_at_ms),
        status="ok" if row.status == "ok" else "error",
        duration_ms=max(0, finished_at_ms - row.started_at_ms),
        output_bytes=output_bytes,
        error=msgspec.UNSET if row.error_json is None else msgspec.json.decode(row.error_json),
    )


class AttemptToolLog:
    """The ``ToolRecorder`` of one running attempt: its tool-call log's rows and events go
    through the run's side channel."""

    def __init__(self, side: SideChannel, item: RunningAttempt) -> None:
        self.side = side
        self.item = item

    async def started(self, row: ToolCallRow) -> None:
        """Commit the call's start; ``TOOL_INTERRUPTED`` when the attempt no longer runs."""
        event = ev.ToolCallStarted(
            **_call_fields(row, row.started_at_ms), input=event_input(row.input_json)
        )
        if not self.side.record_tool_call(self.item, event, insert=row):
            raise ToolInterrupted("the attempt is no longer running")
        await self.side.commit_now()

    def finished(self, row: ToolCallRow, output_bytes: int) -> None:
        """Queue the call's end for the run's next commit."""
        event = _finished_event(row, output_bytes)
        self.side.record_tool_call(self.item, event, update=_ended(row))


def interrupt_open_calls(change: Change, calls: list[ToolCallRow]) -> None:
    """End calls found ``in-progress`` as ``interrupted`` (in a claim's write)."""
    error = ToolInterrupted("the process running this tool call ended before it finished")
    error_json = msgspec.json.encode(error.to_json()).decode()
    for call in calls:
        ended = msgspec.structs.replace(
            call, status="interrupted", error_json=error_json, finished_at_ms=change.now
        )
        change.batch.write(_ended(ended))
        change.emit(_finished_event(ended, 0))
