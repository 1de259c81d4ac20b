"""A conversation with a model, independent of any provider's wire format."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Message", "ModelReply", "ToolCall", "ToolSpec", "Usage"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A model's request to call a tool (``arguments`` as the model sent them: JSON text)."""

    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Message:
    """One message: the prompt, an assistant turn (text and tool calls), or a tool result."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    call_id: str | None = None
    """For a ``tool`` message: the call it answers."""
    is_error: bool = False
    """For a ``tool`` message: the call was refused or failed (its content says why)."""


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as a model is told of it."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens of one model call (input tokens exclude those read from the cache)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0


@dataclass(slots=True)
class ModelReply:
    """What one model call answered."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    model: str = ""
