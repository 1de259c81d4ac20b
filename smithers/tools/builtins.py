"""The built-in tools as ``Tool`` objects: ``read``, ``write``, ``edit``, ``grep``, ``glob``,
``bash`` (``../shared/spec/agents-and-tools.md`` §5).

Each is a ``@tool`` like a user's own, so an agent and task code see the same names, schemas
and validation, and needs nothing but its ``ToolContext``: file tools run in a worker thread
on a ``Root`` of ``t.root``, ``bash`` in the run's sandbox (``t.shell``).
"""

from __future__ import annotations

from typing import Annotated

import msgspec

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
from smithers.tools.shell import BashResult
from smithers.tools.tool import Tool, ToolContext, tool
from smithers.tools.worker import in_root

__all__ = ["BUILTIN_TOOLS", "bash", "edit", "glob", "grep", "read", "write"]

_Path = Annotated[str, msgspec.Meta(description="relative to the run's root")]


@tool
async def read(t: ToolContext, path: _Path, offset: int = 0, limit: int = 2000) -> ReadResult:
    """Read a text file: its lines numbered from 1, from line ``offset`` (0-based), at most
    ``limit`` lines."""
    return await in_root(t.root, read_file, path, offset, limit)


@tool
async def write(t: ToolContext, path: _Path, content: str) -> WriteResult:
    """Create or replace a file (and its folders) atomically; returns its size and sha256."""
    return await in_root(t.root, write_file, path, content)


@tool
async def edit(
    t: ToolContext, path: _Path, old: str, new: str, replace_all: bool = False
) -> EditResult:
    """Replace the exact text ``old`` by ``new`` in a file (``old`` must occur once unless
    ``replace_all``)."""
    return await in_root(t.root, edit_file, path, old, new, replace_all)


@tool
async def grep(
    t: ToolContext,
    pattern: str,
    path: _Path = ".",
    glob: str | None = None,
    ignore_case: bool = False,
    max_results: int = 200,
) -> GrepResult:
    """Lines matching a Python regular expression, as ``path:line:text``; ``glob`` limits the
    files searched."""
    return await in_root(t.root, grep_files, pattern, path, glob, ignore_case, max_results)


@tool
async def glob(t: ToolContext, pattern: str, path: _Path = ".") -> GlobResult:
    """Files matching a glob pattern (``**`` for any folders), newest first."""
    return await in_root(t.root, glob_paths, pattern, path)


@tool
async def bash(t: ToolContext, command: str, timeout: float | None = None) -> BashResult:  # noqa: ASYNC109 (the tool's own argument)
    """Run a bash command in the run's root, in a sandbox; returns the exit code and the
    combined output (a non-zero exit code is a result, not an error)."""
    return await t.shell.run(command, timeout)


BUILTIN_TOOLS: tuple[Tool[object], ...] = (read, write, edit, grep, glob, bash)
