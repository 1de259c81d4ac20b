"""The tool-call log of a run: what each call of an attempt writes, and what a take-over does
with calls it finds unfinished.

A call's start is committed before the tool runs (``ToolCallStarted`` and an ``in-progress``
row), so a crash during the call leaves a trace; its end (``ToolCallFinished``, the row's
status, output and error) goes with the run's next commit. A claim ends every call still
``in-progress`` as ``interrupted``: the process that ran it is gone, and the call is never
re-run behind anyone's back.
"""

from __future__ import annotations

from typing import Any

import msgspec

from smithers.engine import events as ev
from smithers.engine.side_channel import RunningAttempt, SideChannel
from smithers.engine.writes import Change
from smithers.errors import ToolInterrupted
from smithers.store.rows import ToolCallRow
from smithers.tools.calls import CallEnd, CallStart

__all__ = ["EVENT_INPUT_LIMIT", "AttemptToolLog", "interrupt_open_calls"]

EVENT_INPUT_LIMIT = 4096
"""A ``ToolCallStarted`` carries the call's input whole up to this many bytes of JSON, else
the first bytes of it as a string."""


def event_input(input_json: str) -> Any:
    """The ``input`` of a ``ToolCallStarted``: the arguments, or their JSON cut at 4 KiB."""
    encoded = input_json.encode()
    if len(encoded) <= EVENT_INPUT_LIMIT:
        return msgspec.json.decode(encoded)
    return encoded[:EVENT_INPUT_LIMIT].decode(errors="ignore") + "…"


class AttemptToolLog:
    """The ``ToolRecorder`` of one running attempt."""

    def __init__(self, side: SideChannel, item: RunningAttempt) -> None:
        self.side = side
        self.item = item
        self._started = 0

    def _keys(self, call_id: str) -> dict[str, Any]:
        leaf = self.item.leaf
        return {
            "run_id": self.side.run_id,
            "node_id": leaf.id,
            "iteration": leaf.iteration,
            "attempt": self.item.attempt.attempt,
            "call_id": call_id,
        }

    def _base(self, timestamp_ms: int) -> dict[str, Any]:
        leaf = self.item.leaf
        return {
            "run_id": self.side.run_id,
            "timestamp_ms": timestamp_ms,
            "node_id": leaf.id,
            "iteration": leaf.iteration,
            "attempt": self.item.attempt.attempt,
        }

    async def started(self, call: CallStart) -> None:
        """Commit the call's start; ``TOOL_INTERRUPTED`` when the attempt no longer runs."""
        self._started += 1
        row = {
            **self._keys(call.call_id),
            "seq": self._started,
            "tool": call.tool,
            "input_json": call.input_json,
            "output_json": None,
            "status": "in-progress",
            "error_json": None,
            "started_at_ms": call.started_at_ms,
            "finished_at_ms": None,
        }
        event = ev.ToolCallStarted(
            **self._base(call.started_at_ms),
            call_id=call.call_id,
            tool=call.tool,
            input=event_input(call.input_json),
        )
        if not self.side.record_tool_call(self.item, event, insert=row):
            raise ToolInterrupted("the attempt is no longer running")
        await self.side.commit_now()

    def finished(self, call: CallEnd) -> None:
        """Queue the call's end for the run's next commit."""
        update = {
            **self._keys(call.call_id),
            "status": call.status,
            "output_json": call.output_json,
            "error_json": None if call.error is None else msgspec.json.encode(call.error).decode(),
            "finished_at_ms": call.finished_at_ms,
        }
        event = ev.ToolCallFinished(
            **self._base(call.finished_at_ms),
            call_id=call.call_id,
            tool=call.tool,
            status="ok" if call.status == "ok" else "error",
            duration_ms=call.finished_at_ms - call.started_at_ms,
            output_bytes=call.output_bytes,
            error=msgspec.UNSET if call.error is None else call.error,
        )
        self.side.record_tool_call(self.item, event, update=update)


def interrupt_open_calls(change: Change, calls: list[ToolCallRow]) -> None:
    """End calls found ``in-progress`` as ``interrupted`` (in a claim's write)."""
    error = ToolInterrupted("the process running this tool call ended before it finished")
    error_json = error.to_json()
    for call in calls:
        change.batch.tool_call_updates.append(
            {
                "run_id": call.run_id,
                "node_id": call.node_id,
                "iteration": call.iteration,
                "attempt": call.attempt,
                "call_id": call.call_id,
                "status": "interrupted",
                "error_json": msgspec.json.encode(error_json).decode(),
                "finished_at_ms": change.now,
            }
        )
        change.emit(
            ev.ToolCallFinished(
                run_id=call.run_id,
                timestamp_ms=change.now,
                node_id=call.node_id,
                iteration=call.iteration,
                attempt=call.attempt,
                call_id=call.call_id,
                tool=call.tool,
                status="error",
                duration_ms=max(0, change.now - call.started_at_ms),
                output_bytes=0,
                error=error_json,
            )
        )
