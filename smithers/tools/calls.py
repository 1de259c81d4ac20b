"""The tool-call log of an attempt: one ``ToolCallRow`` per call, its start written before
the call runs and its end when it ends.

One ``ToolCallLog`` per attempt serves every caller that logs calls: the ``Toolbox`` (task
code's calls and a model's, as ``async with log.call(...)``) and a coding CLI's runner (the
calls the CLI reports, started and ended as its lines say). The rows go to a
``ToolRecorder`` — the engine's writes them to ``_smithers_tool_calls`` and emits
``ToolCallStarted`` and ``ToolCallFinished``; without one (a tool called outside a run)
nothing is recorded. Inputs and outputs are kept as JSON of bounded size.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from types import TracebackType
from typing import Literal, Protocol

import msgspec

from smithers.errors import ToolError, ToolFailed, ToolInterrupted
from smithers.store.rows import ToolCallRow
from smithers.tools.tool import ToolContext

__all__ = [
    "MAX_STORED_JSON_BYTES",
    "CallStatus",
    "LoggedCall",
    "ToolCallLog",
    "ToolRecorder",
    "bounded_json",
    "new_call_id",
    "now_ms",
]

MAX_STORED_JSON_BYTES = 64 * 1024
"""A call's input or output is stored whole up to this size, else cut (see ``bounded_json``)."""

CallStatus = Literal["in-progress", "ok", "error", "interrupted"]
"""A logged call's status: ``interrupted`` when it was cancelled, or found unfinished when
its run was taken over."""

_encoder = msgspec.json.Encoder()


def now_ms() -> int:
    """The wall clock in epoch milliseconds (what the log's timestamps are)."""
    return time.time_ns() // 1_000_000


def new_call_id() -> str:
    """An id for a call that does not come with one (task code's calls)."""
    return "call_" + secrets.token_hex(12)


def bounded_json(value: object, limit: int = MAX_STORED_JSON_BYTES) -> tuple[str, int]:
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


class ToolRecorder(Protocol):
    """Where a log's rows go: a start (awaited: it is durable before the call runs), then the
    same row ended, with the size of the result's full JSON."""

    async def started(self, row: ToolCallRow) -> None: ...

    def finished(self, row: ToolCallRow, output_bytes: int) -> None: ...


class ToolCallLog:
    """The tool-call rows of one attempt, numbered (``seq``) in the order the calls start."""

    def __init__(
        self, recorder: ToolRecorder | None, attempt: ToolContext, clock: Callable[[], int] = now_ms
    ) -> None:
        self.recorder = recorder
        self.attempt = attempt
        """Whose calls: the context the attempt's tools run in."""
        self.clock = clock
        self._started = 0

    def call(self, tool: str, arguments: object, call_id: str | None = None) -> LoggedCall:
        """A call of ``tool`` (under ``call_id``, else a new id), to start and end; or to run
        in ``async with``, which ends it by how the block ends."""
        return LoggedCall(self, call_id or new_call_id(), tool, arguments)

    def _row(self, call: LoggedCall, started_at_ms: int) -> ToolCallRow:
        self._started += 1
        input_json, _ = bounded_json(call.arguments)
        return ToolCallRow(
            run_id=self.attempt.run_id,
            node_id=self.attempt.node_id,
            iteration=self.attempt.iteration,
            attempt=self.attempt.attempt,
            call_id=call.call_id,
            seq=self._started,
            tool=call.tool,
            input_json=input_json,
            status="in-progress",
            started_at_ms=started_at_ms,
        )


class LoggedCall:
    """One call in the log: ``start()``, then exactly one of ``ok``, ``fail``, ``interrupt``."""

    __slots__ = ("_began", "_row", "arguments", "call_id", "log", "started_at_ms", "status", "tool")

    def __init__(self, log: ToolCallLog, call_id: str, tool: str, arguments: object) -> None:
        self.log = log
        self.call_id = call_id
        self.tool = tool
        self.arguments = arguments
        self.status: CallStatus = "in-progress"
        self.started_at_ms = 0
        self._began = 0.0
        self._row: ToolCallRow | None = None

    @property
    def elapsed_ms(self) -> float:
        """Since the start (until now for a call still running)."""
        return (time.perf_counter() - self._began) * 1000

    async def start(self) -> None:
        """Record the start, durably; ``TOOL_INTERRUPTED`` when the attempt no longer runs."""
        self.started_at_ms = self.log.clock()
        if self.log.recorder is not None:
            self._row = self.log._row(self, self.started_at_ms)
            await self.log.recorder.started(self._row)
        self._began = time.perf_counter()  # the call's duration: from when it may run

    def ok(self, result: object) -> None:
        """The call returned ``result``."""
        self._end("ok", result=result)

    def fail(self, error: ToolError) -> None:
        """The call was refused or failed."""
        self._end("error", error=error)

    def interrupt(self, reason: str) -> None:
        """The call was cancelled, or its runner ended before it did."""
        self._end("interrupted", error=ToolInterrupted(reason))

    def end_by(self, exc: BaseException) -> None:
        """End the call as ``exc``, raised from it, says (a cancel is an interruption)."""
        if isinstance(exc, ToolError):
            self.fail(exc)
        elif isinstance(exc, Exception):
            self.fail(ToolFailed(f"{self.tool}: {type(exc).__name__}: {exc}"))
        else:
            self.interrupt("the tool call was cancelled")

    def _end(
        self, status: CallStatus, *, result: object = None, error: ToolError | None = None
    ) -> None:
        if self.status != "in-progress":
            return
        self.status = status
        if self._row is None or self.log.recorder is None:
            return
        output_json, size = bounded_json(result) if status == "ok" else (None, 0)
        error_json = None if error is None else _encoder.encode(error.to_json()).decode()
        row = msgspec.structs.replace(
            self._row,
            status=status,
            output_json=output_json,
            error_json=error_json,
            finished_at_ms=self.started_at_ms + int(self.elapsed_ms),
        )
        self.log.recorder.finished(row, size)

    async def __aenter__(self) -> LoggedCall:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.status != "in-progress":
            return  # ended inside the block
        if exc is not None:
            self.end_by(exc)
        else:
            self.ok(None)
