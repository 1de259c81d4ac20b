"""The tool loop of a model agent's attempt: model turns, the tools it calls, its final answer.

Each turn's text streams to the attempt's ``NodeOutput`` events (``stream: "agent"``, in
batches of at most 100 ms or 4 KiB) and its token usage becomes a ``TokenUsageReported``.
Tool calls of one turn run in parallel through the attempt's ``Toolbox`` (logged like task
code's calls, under the model's call ids); a tool's error is the tool's result, for the model
to read. With an ``output`` type the final answer must be JSON of that type: when it is not,
the model is told why, in the same conversation, up to ``output_retries`` times, then the
attempt fails ``INVALID_OUTPUT``. Every turn is committed as it completes; an attempt that
continues an interrupted one picks up from its last committed turn.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import msgspec

from smithers import tracing
from smithers.agents.base import Answer, Misfit, TextBatcher, decode_answer
from smithers.agents.conversation import ModelRequest, ToolSpec
from smithers.agents.transcript import Transcript
from smithers.agents.turns import (
    AssistantTurn,
    CorrectionTurn,
    ToolCall,
    ToolResult,
    ToolResultsTurn,
)
from smithers.errors import AgentMaxTurns, ToolError
from smithers.tools.tool import Tool, struct_schema

if TYPE_CHECKING:
    from smithers.agents.model_agent import ModelAgent
    from smithers.authoring.context import TaskContext

__all__ = ["run_agent"]

_encoder = msgspec.json.Encoder()


async def _run_tool(ctx: TaskContext, tools: dict[str, Tool[object]], call: ToolCall) -> ToolResult:
    tool = tools.get(call.name)
    if tool is None:
        return ToolResult.error(
            call.call_id, "UNKNOWN_TOOL", f"there is no tool named {call.name!r}"
        )
    try:
        arguments = msgspec.json.decode(call.arguments or "{}")
    except msgspec.DecodeError as exc:
        return ToolResult.error(
            call.call_id, "INVALID_TOOL_INPUT", f"arguments are not JSON: {exc}"
        )
    try:
        result = await ctx.tools.run_call(tool, arguments, call_id=call.call_id)
    except ToolError as exc:
        return ToolResult.error(call.call_id, exc.code, exc.message)
    return ToolResult(call.call_id, _encoder.encode(result).decode())


async def _answer_calls(
    ctx: TaskContext,
    tools: dict[str, Tool[object]],
    calls: tuple[ToolCall, ...],
    logged: dict[str, ToolResult],
) -> ToolResultsTurn:
    """The results of one turn's calls: from the log when an earlier attempt ran them, else
    run now, in parallel."""
    async with asyncio.TaskGroup() as group:
        running = {
            i: group.create_task(_run_tool(ctx, tools, c))
            for i, c in enumerate(calls)
            if c.call_id not in logged
        }
    return ToolResultsTurn(
        tuple(
            running[i].result() if i in running else logged[c.call_id] for i, c in enumerate(calls)
        )
    )


async def run_agent(
    agent: ModelAgent,
    ctx: TaskContext,
    prompt: str,
    output: type[msgspec.Struct] | None,
) -> Answer:
    """Converse until the model answers without calling a tool; its answer (decoded into
    ``output`` when given)."""
    tools: dict[str, Tool[object]] = {t.name: t for t in agent.tools}
    specs = tuple(ToolSpec.of(t) for t in agent.tools)
    schema = None if output is None else struct_schema(output)
    transcript = Transcript(ctx.agent_memory)
    replay, logged = await transcript.recall()
    conversation, pending = replay.conversation, replay.pending
    turns, corrections = replay.model_turns, replay.corrections
    batcher = TextBatcher(ctx.agent_output)
    while True:
        if pending is not None:
            answer, pending = pending, None  # an answer committed by an earlier attempt
        else:
            if turns >= agent.max_turns:
                raise AgentMaxTurns(f"no final answer after {agent.max_turns} turns")
            request = ModelRequest(agent.system, prompt, tuple(conversation), specs, schema)
            with tracing.model_span(agent.name, agent.model) as span:
                try:
                    reply = await agent.complete(request, batcher.add)
                finally:
                    batcher.flush()
                span.set_attribute(tracing.GENAI_INPUT_TOKENS, reply.usage.input_tokens)
                span.set_attribute(tracing.GENAI_OUTPUT_TOKENS, reply.usage.output_tokens)
            turns += 1
            # labelled with the configured model (the provider may answer with a dated variant)
            ctx.report_usage(agent.name, agent.model, reply.usage.counts())
            answer = AssistantTurn(reply.message)
            conversation.append(answer)
            await transcript.save(answer, reply.usage)
        if answer.content.tool_calls:
            results = await _answer_calls(ctx, tools, answer.content.tool_calls, logged)
            conversation.append(results)
            await transcript.save(results)
            continue
        if output is None:
            return {"text": answer.content.text}
        decoded = decode_answer(answer.content.text, output)
        if not isinstance(decoded, Misfit):
            return decoded
        if corrections >= agent.output_retries:
            raise decoded.failure()
        corrections += 1
        correction = CorrectionTurn(decoded.correction)
        conversation.append(correction)
        await transcript.save(correction)
