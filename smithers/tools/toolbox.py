"""The tools of one attempt: ``await t.tools.bash("pytest -q")``, ``await t.tools.call(lookup,
q="x")``.

One ``Toolbox`` per attempt, bound to the run's root, its network setting and the server's
sandbox mode. Every call, built-in or ``@tool``, from task code or (with the agents) from a
model, goes through ``run_call``: arguments validated, the start recorded durably before the
tool runs, the end recorded, the metrics counted. At most ``max_parallel_tools`` calls of one
attempt run at once (the others wait their turn; a call a tool makes from inside its own call
does not wait). File tools run in a worker thread (a ``grep`` over a large tree must not
stall the event loop) under a ``Budget`` that a cancel of the call ends too; ``bash`` is an
awaited subprocess in the sandbox. A refused or failed call raises ``ToolError``.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from smithers import metrics, tracing
from smithers.errors import ToolError, ToolFailed, ToolInterrupted
from smithers.tools import builtins
from smithers.tools.budget import Budget
from smithers.tools.calls import (
    CallEnd,
    CallStart,
    CallStatus,
    ToolRecorder,
    bounded_json,
    new_call_id,
)
from smithers.tools.files import EditResult, GlobResult, GrepResult, ReadResult, WriteResult
from smithers.tools.root import Root
from smithers.tools.shell import BashResult, SandboxMode, Shell
from smithers.tools.tool import Tool, ToolContext

__all__ = ["DEFAULT_MAX_PARALLEL_TOOLS", "Toolbox"]

T = TypeVar("T")

DEFAULT_MAX_PARALLEL_TOOLS = 8

_in_call: contextvars.ContextVar[bool] = contextvars.ContextVar("smithers_in_tool_call")
"""Set inside a call: a tool calling another tool already holds its attempt's slot."""


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class Toolbox:
    """Calls tools for one attempt, on its run's root, and records each call."""

    def __init__(
        self,
        root: Path,
        *,
        allow_network: bool,
        sandbox: SandboxMode = "bwrap",
        recorder: ToolRecorder | None = None,
        run_id: str = "",
        node_id: str = "",
        iteration: int = 0,
        attempt: int = 0,
        clock: Callable[[], int] = _now_ms,
        max_parallel_tools: int = DEFAULT_MAX_PARALLEL_TOOLS,
    ) -> None:
        self.root = root
        self._slots = asyncio.Semaphore(max_parallel_tools)
        self.allow_network = allow_network
        self.shell = Shell(root, allow_network=allow_network, sandbox=sandbox)
        self.recorder = recorder
        self.clock = clock
        self.context = ToolContext(run_id, node_id, iteration, attempt, root, allow_network, self)

    async def call(self, tool: Tool, /, **arguments: Any) -> Any:
        """Call ``tool`` with keyword arguments; its result, or a ``ToolError``."""
        return await self.run_call(tool, arguments)

    async def run_call(self, tool: Tool, arguments: Any, *, call_id: str | None = None) -> Any:
        """Validate ``arguments`` (a dict, as a model sends them), run the tool, log the call."""
        if _in_call.get(False):
            return await self._logged(tool, arguments, call_id)
        async with self._slots:
            token = _in_call.set(True)
            try:
                return await self._logged(tool, arguments, call_id)
            finally:
                _in_call.reset(token)

    async def _logged(self, tool: Tool, arguments: Any, call_id: str | None) -> Any:
        call_id = call_id or new_call_id()
        started_ms = self.clock()
        if self.recorder is not None:
            input_json, _ = bounded_json(arguments)
            await self.recorder.started(CallStart(call_id, tool.name, input_json, started_ms))
        with tracing.tool_span(tool.name) as span:
            return await self._run(tool, arguments, call_id, started_ms, span)

    async def _run(
        self,
        tool: Tool,
        arguments: Any,
        call_id: str,
        started_ms: int,
        span: tracing.SpanLike,
    ) -> Any:
        began = time.perf_counter()
        status: CallStatus = "error"
        output_json: str | None = None
        output_bytes = 0
        error: dict[str, Any] | None = None
        try:
            result = await tool.invoke(self.context, tool.validate(arguments))
            status = "ok"
            output_json, output_bytes = bounded_json(result)
            return result
        except asyncio.CancelledError:
            status = "interrupted"
            error = ToolInterrupted("the tool call was cancelled").to_json()
            raise
        except ToolError as exc:
            error = exc.to_json()
            raise
        except Exception as exc:
            failed = ToolFailed(f"{tool.name}: {type(exc).__name__}: {exc}")
            error = failed.to_json()
            raise failed from exc
        finally:
            elapsed_ms = (time.perf_counter() - began) * 1000
            span.set_attribute(tracing.TOOL_STATUS, status)
            metrics.tool_calls.labels(tool.name, status).inc()
            metrics.tool_duration_ms.labels(tool.name).observe(elapsed_ms)
            if self.recorder is not None:
                end = CallEnd(
                    call_id,
                    tool.name,
                    status,
                    output_json,
                    output_bytes,
                    error,
                    started_ms,
                    started_ms + int(elapsed_ms),
                )
                self.recorder.finished(end)

    # --- the built-in tools, as task code calls them ------------------------------------------

    async def read(self, path: str, offset: int = 0, limit: int = 2000) -> ReadResult:
        """Lines of a text file, numbered from 1."""
        result: ReadResult = await self.call(builtins.read, path=path, offset=offset, limit=limit)
        return result

    async def write(self, path: str, content: str) -> WriteResult:
        """Create or replace a file atomically (its folders too)."""
        result: WriteResult = await self.call(builtins.write, path=path, content=content)
        return result

    async def edit(self, path: str, old: str, new: str, replace_all: bool = False) -> EditResult:
        """Replace ``old`` by ``new`` exactly."""
        result: EditResult = await self.call(
            builtins.edit, path=path, old=old, new=new, replace_all=replace_all
        )
        return result

    async def grep(
        self,
        pattern: str,
        path: str = ".",
        glob: str | None = None,
        ignore_case: bool = False,
        max_results: int = 200,
    ) -> GrepResult:
        """``path:line:text`` of the lines matching a regular expression."""
        result: GrepResult = await self.call(
            builtins.grep,
            pattern=pattern,
            path=path,
            glob=glob,
            ignore_case=ignore_case,
            max_results=max_results,
        )
        return result

    async def glob(self, pattern: str, path: str = ".") -> GlobResult:
        """Files matching a glob pattern (``**`` for any folders), newest first."""
        result: GlobResult = await self.call(builtins.glob, pattern=pattern, path=path)
        return result

    async def bash(self, command: str, timeout: float | None = None) -> BashResult:  # noqa: ASYNC109 (the tool's own argument)
        """Run a command in the sandbox; a non-zero exit code is a result."""
        result: BashResult = await self.call(builtins.bash, command=command, timeout=timeout)
        return result

    # --- what the built-in tools run on -------------------------------------------------------

    async def in_root(self, tool: Callable[..., T], *args: Any) -> T:
        """``tool(root, *args, budget=...)`` in a worker thread, on a fresh ``Root`` of the
        run's root; a cancel of the call stops the thread's work at its next check."""
        budget = Budget()
        try:
            return await asyncio.to_thread(self._in_root, tool, budget, *args)
        except asyncio.CancelledError:
            budget.cancel()
            raise

    def _in_root(self, tool: Callable[..., T], budget: Budget, *args: Any) -> T:
        with Root(self.root) as root:  # one descriptor per call: nothing to close later
            return tool(root, *args, budget=budget)
