"""Tools as objects: a name, a description, a JSON Schema of the arguments, and a function.

``@tool`` makes one of a typed async function whose first parameter is the ``ToolContext``:

    @tool
    async def lookup(t: ToolContext, q: str, limit: int = 5) -> list[str]:
        '''Find entries matching ``q``.'''

The name is the function's, the description its docstring, the schema that of a msgspec
Struct built from the other parameters (so arguments are validated exactly as msgspec
validates a Struct). The built-in tools are made the same way (``smithers.tools.builtins``),
on what the ``ToolContext`` gives every tool: the run's root and its shell. This module
knows no ``Toolbox``: a tool calls another through the context's ``ToolCaller``.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Generic, Protocol, TypeVar, get_type_hints, overload

import msgspec

from smithers.errors import InvalidToolInput
from smithers.tools.shell import Shell

__all__ = ["JsonSchema", "Tool", "ToolCaller", "ToolContext", "struct_schema", "tool"]

R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)

JsonSchema = dict[str, object]
"""A JSON Schema, as msgspec derives it and model APIs take it."""

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
"""What every provider accepts as a tool name."""


class ToolCaller(Protocol):
    """What calls a tool for a tool: the attempt's ``Toolbox``, which logs each call."""

    async def call(self, tool: Tool[R], /, **arguments: object) -> R:
        """Call ``tool`` with keyword arguments; its result, or a ``ToolError``."""
        ...


@dataclass(frozen=True, slots=True)
class ToolContext:
    """What a tool's function gets besides its arguments: where it runs and for whom."""

    run_id: str
    node_id: str
    iteration: int
    attempt: int
    root: Path
    """The run's root: every path a tool touches lies inside it."""
    allow_network: bool
    shell: Shell
    """Runs commands in the run's sandbox (the ``bash`` tool's)."""
    tools: ToolCaller
    """The run's tools, to call another tool (each call is logged as its own)."""


@dataclass(frozen=True, eq=False)
class Tool(Generic[R_co]):
    """A tool an agent or task code can call; ``R_co`` is what it returns."""

    name: str
    description: str
    arguments: type[msgspec.Struct]
    """The arguments as a Struct: what is validated, and where the JSON Schema comes from."""
    fn: Callable[..., Awaitable[R_co]]

    @cached_property
    def parameters(self) -> JsonSchema:
        """The JSON Schema of the arguments: an object, no unknown keys."""
        schema = struct_schema(self.arguments)
        schema.pop("title", None)
        schema.setdefault("properties", {})
        schema["additionalProperties"] = False
        return schema

    def validate(self, arguments: object) -> msgspec.Struct:
        """The arguments as the tool's Struct; ``INVALID_TOOL_INPUT`` when they do not fit."""
        if isinstance(arguments, self.arguments):
            return arguments
        try:
            return msgspec.convert(arguments, self.arguments)
        except msgspec.ValidationError as exc:
            raise InvalidToolInput(f"{self.name}: {exc}") from None

    async def invoke(self, ctx: ToolContext, arguments: msgspec.Struct) -> R_co:
        """Run the function with validated arguments."""
        values = {f: getattr(arguments, f) for f in arguments.__struct_fields__}
        return await self.fn(ctx, **values)

    def __repr__(self) -> str:
        return f"Tool({self.name!r})"


def struct_schema(struct_type: type[msgspec.Struct]) -> JsonSchema:
    """The JSON Schema of a Struct with its own definition at the top (what model APIs want);
    the definitions of nested Structs stay in ``$defs``."""
    schema: JsonSchema = msgspec.json.schema(struct_type)
    ref = schema.pop("$ref", None)
    if isinstance(ref, str):
        defs = schema.get("$defs")
        assert isinstance(defs, dict)
        schema = {**defs.pop(ref.rsplit("/", 1)[-1]), **schema}
        if not defs:
            schema.pop("$defs", None)
    return schema


ToolFunction = Callable[..., Awaitable[R]]


@overload
def tool(fn: ToolFunction[R], /) -> Tool[R]: ...


@overload
def tool(*, name: str | None = None) -> Callable[[ToolFunction[R]], Tool[R]]: ...


def tool(
    fn: ToolFunction[R] | None = None, /, *, name: str | None = None
) -> Tool[R] | Callable[[ToolFunction[R]], Tool[R]]:
    """Make a ``Tool`` of an async function ``(t: ToolContext, **arguments)``: ``@tool`` or
    ``@tool(name="...")``."""

    def make(fn: ToolFunction[R]) -> Tool[R]:
        tool_name = name or fn.__name__
        if not _NAME.match(tool_name):
            raise ValueError(f"tool name {tool_name!r} must match {_NAME.pattern}")
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"tool {tool_name!r} must be an async function")
        return Tool(tool_name, inspect.getdoc(fn) or "", _arguments_struct(tool_name, fn), fn)

    return make if fn is None else make(fn)


def _arguments_struct(name: str, fn: Callable[..., object]) -> type[msgspec.Struct]:
    params = list(inspect.signature(fn).parameters.values())
    if not params:
        raise TypeError(f"tool {name!r} must take the ToolContext as its first parameter")
    hints = get_type_hints(fn)
    fields: list[tuple[str, object] | tuple[str, object, object]] = []
    for param in params[1:]:
        if param.kind not in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            raise TypeError(f"tool {name!r}: parameter {param.name!r} must be a named one")
        if param.name not in hints:
            raise TypeError(f"tool {name!r}: parameter {param.name!r} needs a type annotation")
        if param.default is param.empty:
            fields.append((param.name, hints[param.name]))
        else:
            fields.append((param.name, hints[param.name], param.default))
    struct_name = "".join(part.capitalize() for part in re.split(r"[_-]", name)) + "Arguments"
    return msgspec.defstruct(struct_name, fields, kw_only=True, forbid_unknown_fields=True)
