"""The built-in tools as task code calls them: ``await t.tools.bash("pytest -q")``.

One ``Toolbox`` per attempt, bound to the run's root and its network setting. File tools run
in a worker thread (a ``grep`` over a large tree must not stall the event loop); ``bash``
is an awaited subprocess in the sandbox. A refused or failed call raises ``ToolError``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from smithers.tools.files import (
    EditResult,
    GlobResult,
    GrepResult,
    ReadResult,
    WriteResult,
    edit_file,
    glob_paths,
    grep_files,
    read_file,
    write_file,
)
from smithers.tools.root import Root
from smithers.tools.shell import BashResult, SandboxMode, Shell

__all__ = ["Toolbox"]

T = TypeVar("T")


class Toolbox:
    """``read``, ``write``, ``edit``, ``grep``, ``glob`` and ``bash`` on one run's root."""

    __slots__ = ("_shell", "allow_network", "root")

    def __init__(self, root: Path, *, allow_network: bool, sandbox: SandboxMode = "bwrap") -> None:
        self.root = root
        self.allow_network = allow_network
        self._shell = Shell(root, allow_network=allow_network, sandbox=sandbox)

    async def read(self, path: str, offset: int = 0, limit: int = 2000) -> ReadResult:
        """Lines of a text file, numbered from 1."""
        return await asyncio.to_thread(self._in_root, read_file, path, offset, limit)

    async def write(self, path: str, content: str) -> WriteResult:
        """Create or replace a file atomically (its folders too)."""
        return await asyncio.to_thread(self._in_root, write_file, path, content)

    async def edit(self, path: str, old: str, new: str, replace_all: bool = False) -> EditResult:
        """Replace ``old`` by ``new`` exactly."""
        return await asyncio.to_thread(self._in_root, edit_file, path, old, new, replace_all)

    async def grep(
        self,
        pattern: str,
        path: str = ".",
        glob: str | None = None,
        ignore_case: bool = False,
        max_results: int = 200,
    ) -> GrepResult:
        """``path:line:text`` of the lines matching a regular expression."""
        return await asyncio.to_thread(
            self._in_root, grep_files, pattern, path, glob, ignore_case, max_results
        )

    async def glob(self, pattern: str, path: str = ".") -> GlobResult:
        """Files matching a glob pattern (``**`` for any folders), newest first."""
        return await asyncio.to_thread(self._in_root, glob_paths, pattern, path)

    async def bash(self, command: str, timeout: float | None = None) -> BashResult:  # noqa: ASYNC109 (the tool's own argument)
        """Run a command in the sandbox; a non-zero exit code is a result."""
        return await self._shell.run(command, timeout)

    def _in_root(self, tool: Callable[..., T], *args: Any) -> T:
        with Root(self.root) as root:  # one descriptor per call: nothing to close later
            return tool(root, *args)
