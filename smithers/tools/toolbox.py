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
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from smithers import metrics, tracing
from smithers.errors import ToolError, ToolFailed
from smithers.tools import builtins
from smithers.tools.calls import ToolCallLog, ToolRecorder, now_ms
from smithers.tools.files import EditResult, GlobResult, GrepResult, ReadResult, WriteResult
from smithers.tools.shell import BashResult, SandboxMode, Shell
from smithers.tools.tool import Tool, ToolContext

__all__ = ["DEFAULT_MAX_PARALLEL_TOOLS", "Toolbox"]

R = TypeVar("R")

DEFAULT_MAX_PARALLEL_TOOLS = 8

_in_call: contextvars.ContextVar[bool] = contextvars.ContextVar("smithers_in_tool_call")
"""Set inside a call: a tool calling another tool already holds its attempt's slot."""


class Toolbox:
    """Calls tools for one attempt, on its run's root, and logs each call."""

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
        clock: Callable[[], int] = now_ms,
        max_parallel_tools: int = DEFAULT_MAX_PARALLEL_TOOLS,
    ) -> None:
        self.root = root
        self._slots = asyncio.Semaphore(max_parallel_tools)
        self.allow_network = allow_network
        self.shell = Shell(root, allow_network=allow_network, sandbox=sandbox)
        self.context = ToolContext(
            run_id, node_id, iteration, attempt, root, allow_network, self.shell, self
        )
        self.log = ToolCallLog(recorder, self.context, clock)
        """The attempt's tool-call log (a coding CLI's runner logs the CLI's calls there too)."""

    async def call(self, tool: Tool[R], /, **arguments: object) -> R:
        """Call ``tool`` with keyword arguments; its result, or a ``ToolError``."""
        return await self.run_call(tool, arguments)

    async def run_call(self, tool: Tool[R], arguments: object, *, call_id: str | None = None) -> R:
        """Validate ``arguments`` (a dict, as a model sends them), run the tool, log the call."""
        if _in_call.get(False):
            return await self._logged(tool, arguments, call_id)
        async with self._slots:
            token = _in_call.set(True)
            try:
                return await self._logged(tool, arguments, call_id)
            finally:
                _in_call.reset(token)

    async def _logged(self, tool: Tool[R], arguments: object, call_id: str | None) -> R:
        async with self.log.call(tool.name, arguments, call_id) as call:
            with tracing.tool_span(tool.name) as span:
                try:
                    result = await self._invoke(tool, arguments)
                    call.ok(result)
                    return result
                except BaseException as exc:
                    call.end_by(exc)
                    raise
                finally:
                    span.set_attribute(tracing.TOOL_STATUS, call.status)
                    metrics.tool_calls.labels(tool.name, call.status).inc()
                    metrics.tool_duration_ms.labels(tool.name).observe(call.elapsed_ms)

    async def _invoke(self, tool: Tool[R], arguments: object) -> R:
        try:
            return await tool.invoke(self.context, tool.validate(arguments))
        except ToolError:
            raise
        except Exception as exc:
            raise ToolFailed(f"{tool.name}: {type(exc).__name__}: {exc}") from exc

    # --- the built-in tools, as task code calls them ------------------------------------------

    async def read(self, path: str, offset: int = 0, limit: int = 2000) -> ReadResult:
        """Lines of a text file, numbered from 1."""
        return await self.call(builtins.read, path=path, offset=offset, limit=limit)

    async def write(self, path: str, content: str) -> WriteResult:
        """Create or replace a file atomically (its folders too)."""
        return await self.call(builtins.write, path=path, content=content)

    async def edit(self, path: str, old: str, new: str, replace_all: bool = False) -> EditResult:
        """Replace ``old`` by ``new`` exactly."""
        return await self.call(builtins.edit, path=path, old=old, new=new, replace_all=replace_all)

    async def grep(
        self,
        pattern: str,
        path: str = ".",
        glob: str | None = None,
        ignore_case: bool = False,
        max_results: int = 200,
    ) -> GrepResult:
        """``path:line:text`` of the lines matching a regular expression."""
        return await self.call(
            builtins.grep,
            pattern=pattern,
            path=path,
            glob=glob,
            ignore_case=ignore_case,
            max_results=max_results,
        )

    async def glob(self, pattern: str, path: str = ".") -> GlobResult:
        """Files matching a glob pattern (``**`` for any folders), newest first."""
        return await self.call(builtins.glob, pattern=pattern, path=path)

    async def bash(self, command: str, timeout: float | None = None) -> BashResult:  # noqa: ASYNC109 (the tool's own argument)
        """Run a command in the sandbox; a non-zero exit code is a result."""
        return await self.call(builtins.bash, command=command, timeout=timeout)
