"""What a coding CLI's output lines say, as its runner hears it: one small type per kind of
news (read as ``events.Text``, ``events.ToolStarted``, …). Each CLI's module reads its own
JSON lines into these (``CliAgent.read_line``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from smithers.agents.turns import Usage

__all__ = [
    "Event",
    "Failure",
    "Result",
    "SchemaArgs",
    "Session",
    "Text",
    "Tokens",
    "ToolEnded",
    "ToolStarted",
]


@dataclass(frozen=True, slots=True)
class Session:
    """The CLI's session id (resumed after an interrupted attempt, or to correct an answer)."""

    session_id: str


@dataclass(frozen=True, slots=True)
class Text:
    """Text the CLI's model wrote."""

    text: str


@dataclass(frozen=True, slots=True)
class Tokens:
    """The tokens of the CLI's model calls."""

    usage: Usage


@dataclass(frozen=True, slots=True)
class Result:
    """The CLI's final answer (empty: its text is the answer)."""

    text: str = ""


@dataclass(frozen=True, slots=True)
class Failure:
    """The CLI reported an error."""

    message: str


@dataclass(frozen=True, slots=True)
class ToolStarted:
    """The CLI began one of its own tool calls."""

    call_id: str
    tool: str
    arguments: object
    """As the CLI reported them (a JSON value)."""


@dataclass(frozen=True, slots=True)
class ToolEnded:
    """The CLI ended one of its tool calls."""

    call_id: str
    output: str
    ok: bool = True


Event: TypeAlias = Session | Text | Tokens | Result | Failure | ToolStarted | ToolEnded


@dataclass(frozen=True, slots=True)
class SchemaArgs:
    """The output type's JSON Schema, as text and as a file (for CLIs that want a path)."""

    text: str
    path: str
