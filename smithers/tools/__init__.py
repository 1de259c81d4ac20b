"""Tools for agents and task code: the built-ins (``read``, ``write``, ``edit``, ``grep``,
``glob``, ``bash``) and ``@tool`` for your own; see docs/tools.md."""

from smithers.errors import ToolError
from smithers.tools.builtins import BUILTIN_TOOLS, bash, edit, glob, grep, read, write
from smithers.tools.tool import Tool, ToolContext, tool

__all__ = [
    "BUILTIN_TOOLS",
    "Tool",
    "ToolContext",
    "ToolError",
    "bash",
    "edit",
    "glob",
    "grep",
    "read",
    "tool",
    "write",
]
