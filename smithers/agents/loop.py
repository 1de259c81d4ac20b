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

from smithers import tracing
from smithers.agents.conversation import Message, ModelReply, ToolCall, ToolSpec, Usage
from smithers.errors import AgentMaxTurns, InvalidOutput, ToolError
from smithers.secrets import redact
from smithers.tools.tool import Tool, struct_schema

if TYPE_CHECKING:
    from smithers.authoring.context import TaskContext

__all__ = ["Agent", "TextBatcher", "rebuild", "run_agent", "usage_dict"]

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


_FENCED = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.S)


def _json_text(text: str) -> str:
    """The JSON of a final answer (a fenced code block around it is tolerated)."""
    stripped = text.strip()
    fenced = _FENCED.match(stripped)
    return fenced.group(1) if fenced else stripped


ToolAnswer = tuple[str, bool]
"""A tool message's content and whether it reports an error."""


async def _run_tool(ctx: TaskContext, tools: dict[str, Tool], call: ToolCall) -> ToolAnswer:
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
    return msgspec.json.encode(result).decode(), False


def _error_result(code: str, message: str) -> ToolAnswer:
    """A tool's error as the model reads it (and the transcript keeps it): no known secret."""
    error = {"code": code, "message": redact(message)}
    return msgspec.json.encode({"error": error}).decode(), True


class Memory(Protocol):
    """Where a conversation is kept (the engine's ``AttemptMemory``)."""

    async def recall(self) -> Any: ...

    async def save(self, role: str, content: Any, usage: dict[str, int] | None = None) -> None: ...


def _assistant_content(reply: ModelReply) -> dict[str, Any]:
    return {
        "text": reply.text,
        "toolCalls": [
            {"id": c.call_id, "name": c.name, "arguments": c.arguments} for c in reply.tool_calls
        ],
    }


def rebuild(turns: list[tuple[str, Any]]) -> tuple[list[Message], ModelReply | None, int, int]:
    """The messages of committed turns; the last answer when nothing followed it (its tool
    calls unanswered, or a final answer not yet taken); model turns and corrections used."""
    messages: list[Message] = []
    last: ModelReply | None = None
    model_turns = corrections = 0
    for role, content in turns:
        if role == "assistant":
            calls = [ToolCall(c["id"], c["name"], c["arguments"]) for c in content["toolCalls"]]
            last = ModelReply(text=content["text"], tool_calls=calls)
            messages.append(Message("assistant", content["text"] or None, tuple(calls)))
            model_turns += 1
            continue
        if role == "tool":
            messages += [
                Message("tool", r["content"], call_id=r["callId"], is_error=bool(r.get("isError")))
                for r in content
            ]
        elif role == "user":
            messages.append(Message("user", content))
            corrections += 1
        else:
            continue  # a CLI agent's session (a chain may mix agents): not a model turn
        last = None
    return messages, last, model_turns, corrections


def _logged_result(row: Any) -> ToolAnswer | None:
    """A tool call's result as the log has it; ``None`` for a call that never started."""
    if row is None:
        return None
    if row.status == "ok":
        return str(row.output_json), False
    if row.status == "error" and row.error_json:
        error = msgspec.json.decode(row.error_json)
        return _error_result(str(error.get("code")), str(error.get("message")))
    return _error_result(
        "TOOL_INTERRUPTED", "this call was interrupted before it finished and was not run again"
    )


async def _answer_calls(
    ctx: TaskContext,
    tools: dict[str, Tool],
    calls: list[ToolCall],
    logged: dict[str, Any],
) -> list[ToolAnswer]:
    """The results of one turn's calls: from the log when an earlier attempt ran them, else
    run now, in parallel."""
    results: list[ToolAnswer | None] = [_logged_result(logged.get(c.call_id)) for c in calls]
    async with asyncio.TaskGroup() as group:
        running = {
            i: group.create_task(_run_tool(ctx, tools, c))
            for i, c in enumerate(calls)
            if results[i] is None
        }
    for i, task in running.items():
        results[i] = task.result()
    return [r for r in results if r is not None]


async def run_agent(
    agent: Agent,
    ctx: TaskContext,
    prompt: str,
    output: type[msgspec.Struct] | None,
) -> Any:
    """Converse until the model answers without calling a tool; its answer (decoded into
    ``output`` when given). With the engine's memory, every turn is committed as it
    completes and a continued attempt picks up from the last committed turn."""
    tools = {t.name: t for t in agent.tools}
    specs = [ToolSpec(t.name, t.description, t.parameters) for t in agent.tools]
    schema = None if output is None else struct_schema(output)
    memory: Memory | None = ctx.agent_memory
    messages: list[Message] = []
    if agent.system:
        messages.append(Message("system", agent.system))
    messages.append(Message("user", prompt))
    pending: ModelReply | None = None
    turns = corrections = 0
    logged: dict[str, Any] = {}
    if memory is not None:
        recalled = await memory.recall()
        earlier, pending, turns, corrections = rebuild(recalled.turns)
        messages += earlier
        logged = recalled.calls
    batcher = TextBatcher(ctx.agent_output)
    while True:
        if pending is not None:
            reply, pending = pending, None  # an answer committed by an earlier attempt
        else:
            if turns >= agent.max_turns:
                raise AgentMaxTurns(f"no final answer after {agent.max_turns} turns")
            with tracing.model_span(agent.name, agent.model) as span:
                try:
                    reply = await agent.complete(messages, specs, schema, batcher.add)
                finally:
                    batcher.flush()
                span.set_attribute(tracing.GENAI_INPUT_TOKENS, reply.usage.input_tokens)
                span.set_attribute(tracing.GENAI_OUTPUT_TOKENS, reply.usage.output_tokens)
            turns += 1
            usage = usage_dict(reply.usage)
            # labelled with the configured model (the provider may answer with a dated variant)
            ctx.report_usage(agent.name, agent.model, usage)
            messages.append(Message("assistant", reply.text or None, tuple(reply.tool_calls)))
            if memory is not None:
                await memory.save("assistant", _assistant_content(reply), usage)
        if reply.tool_calls:
            results = await _answer_calls(ctx, tools, reply.tool_calls, logged)
            pairs = list(zip(reply.tool_calls, results, strict=True))
            messages += [
                Message("tool", content, call_id=call.call_id, is_error=failed)
                for call, (content, failed) in pairs
            ]
            answered = [
                {"callId": call.call_id, "content": content, "isError": failed}
                for call, (content, failed) in pairs
            ]
            if memory is not None:
                await memory.save("tool", answered)
            continue
        if output is None:
            return {"text": reply.text}
        try:
            return msgspec.json.decode(_json_text(reply.text), type=output)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            if corrections >= agent.output_retries:
                raise InvalidOutput(
                    f"the agent's answer does not fit {output.__name__}: {exc}"
                ) from None
            corrections += 1
            correction = (
                f"Your answer is not valid: {exc}. Answer again with only a JSON object "
                "that matches the schema you were given."
            )
            messages.append(Message("user", correction))
            if memory is not None:
                await memory.save("user", correction)


def usage_dict(usage: Usage) -> dict[str, int]:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
    }
