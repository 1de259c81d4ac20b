"""One model call, independent of any provider's wire format: what is asked (a
``ModelRequest``) and what came back (a ``ModelReply``). Each provider's codec turns the
first into its request body and its answer stream into the second."""

from __future__ import annotations

from dataclasses import dataclass, field

from smithers.agents.turns import AssistantMessage, ModelTurn, Usage
from smithers.tools.tool import JsonSchema, Tool

__all__ = ["ModelReply", "ModelRequest", "ToolSpec"]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as a model is told of it."""

    name: str
    description: str
    parameters: JsonSchema

    @classmethod
    def of(cls, tool: Tool[object]) -> ToolSpec:
        """What the model is told of ``tool``."""
        return cls(tool.name, tool.description, tool.parameters)


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """One call: the system text, the task's prompt, the turns since, the tools the model may
    call and the JSON Schema its final answer must match (``None``: any text)."""

    system: str | None
    prompt: str
    turns: tuple[ModelTurn, ...] = ()
    tools: tuple[ToolSpec, ...] = ()
    output_schema: JsonSchema | None = None


@dataclass(frozen=True, slots=True)
class ModelReply:
    """What one model call answered."""

    message: AssistantMessage
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None
    model: str = ""
    """The model that answered, as the provider names it (it may be a dated variant)."""
