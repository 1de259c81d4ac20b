"""The agent loop of one attempt: model turns, the tools it calls, its final answer.

Each turn's text streams to the attempt's ``NodeOutput`` events (``stream: "agent"``, in
batches of at most 100 ms or 4 KiB) and its token usage becomes a ``TokenUsageReported``.
Tool calls of one turn run in parallel through the attempt's ``Toolbox`` (logged like task
code's calls, under the model's call ids); a tool's error is the tool's result, for the model
to read. With an ``output`` type the final answer must be JSON of that type: when it is not,
the model is told why, in the same conversation, up to ``output_retries`` times, then the
attempt fails ``INVALID_OUTPUT``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from smithers.agents.conversation import Message, ModelReply, ToolCall, ToolSpec, Usage
from smithers.errors import AgentMaxTurns, InvalidOutput, ToolError
from smithers.tools.tool import Tool

if TYPE_CHECKING:
    from smithers.authoring.context import TaskContext

__all__ = ["Agent", "TextBatcher", "output_schema", "run_agent"]

BATCH_BYTES = 4096
BATCH_SECONDS = 0.1


class Agent(Protocol):
    """What the loop needs of an agent (``OpenAIAgent`` is one)."""

    model: str
    name: str
    system: str | None
    max_turns: int
    output_retries: int

    @property
    def tools(self) -> Sequence[Tool]: ...

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        schema: dict[str, Any] | None,
        on_text: Callable[[str], None],
    ) -> ModelReply: ...


class TextBatcher:
    """Streamed text, handed on in batches of at most ``BATCH_SECONDS`` or ``BATCH_BYTES``."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self.emit = emit
        self._parts: list[str] = []
        self._size = 0
        self._timer: asyncio.TimerHandle | None = None

    def add(self, text: str) -> None:
        """One delta."""
        self._parts.append(text)
        self._size += len(text.encode())
        if self._size >= BATCH_BYTES:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(BATCH_SECONDS, self.flush)

    def flush(self) -> None:
        """Hand on what is pending now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._parts:
            text, self._parts, self._size = "".join(self._parts), [], 0
            self.emit(text)


def output_schema(output: type[msgspec.Struct]) -> dict[str, Any]:
    """The JSON Schema of an output Struct, its definitions inlined at the top."""
    schema: dict[str, Any] = msgspec.json.schema(output)
    ref = schema.pop("$ref", None)
    if ref is not None:
        defs = schema.get("$defs", {})
        name = ref.rsplit("/", 1)[-1]
        schema = {**defs.pop(name), **schema}
        if not defs:
            schema.pop("$defs", None)
    return schema


_FENCED = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.S)


def _json_text(text: str) -> str:
    """The JSON of a final answer (a fenced code block around it is tolerated)."""
    stripped = text.strip()
    fenced = _FENCED.match(stripped)
    return fenced.group(1) if fenced else stripped


async def _run_tool(ctx: TaskContext, tools: dict[str, Tool], call: ToolCall) -> str:
    tool = tools.get(call.name)
    if tool is None:
        return _error_result("UNKNOWN_TOOL", f"there is no tool named {call.name!r}")
    try:
        arguments = msgspec.json.decode(call.arguments or "{}")
    except msgspec.DecodeError as exc:
        return _error_result("INVALID_TOOL_INPUT", f"arguments are not JSON: {exc}")
    try:
        result = await ctx.tools.run_call(tool, arguments, call_id=call.call_id)
    except ToolError as exc:
        return _error_result(exc.code, exc.message)
    return msgspec.json.encode(result).decode()


def _error_result(code: str, message: str) -> str:
    return msgspec.json.encode({"error": {"code": code, "message": message}}).decode()


async def run_agent(
    agent: Agent,
    ctx: TaskContext,
    prompt: str,
    output: type[msgspec.Struct] | None,
) -> Any:
    """Converse until the model answers without calling a tool; its answer (decoded into
    ``output`` when given)."""
    tools = {t.name: t for t in agent.tools}
    specs = [ToolSpec(t.name, t.description, t.parameters) for t in agent.tools]
    schema = None if output is None else output_schema(output)
    messages: list[Message] = []
    if agent.system:
        messages.append(Message("system", agent.system))
    messages.append(Message("user", prompt))
    corrections = agent.output_retries
    batcher = TextBatcher(ctx.agent_output)
    for _ in range(agent.max_turns):
        try:
            reply = await agent.complete(messages, specs, schema, batcher.add)
        finally:
            batcher.flush()
        # labelled with the configured model (the provider may answer with a dated variant)
        ctx.report_usage(agent.name, agent.model, _usage_dict(reply.usage))
        messages.append(Message("assistant", reply.text or None, tuple(reply.tool_calls)))
        if reply.tool_calls:
            async with asyncio.TaskGroup() as group:
                running = [group.create_task(_run_tool(ctx, tools, c)) for c in reply.tool_calls]
            for call, task in zip(reply.tool_calls, running, strict=True):
                messages.append(Message("tool", task.result(), call_id=call.call_id))
            continue
        if output is None:
            return reply.text
        try:
            return msgspec.json.decode(_json_text(reply.text), type=output)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            if corrections == 0:
                raise InvalidOutput(
                    f"the agent's answer does not fit {output.__name__}: {exc}"
                ) from None
            corrections -= 1
            messages.append(
                Message(
                    "user",
                    f"Your answer is not valid: {exc}. Answer again with only a JSON object "
                    "that matches the schema you were given.",
                )
            )
    raise AgentMaxTurns(f"no final answer after {agent.max_turns} turns")


def _usage_dict(usage: Usage) -> dict[str, int]:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
    }
