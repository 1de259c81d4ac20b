"""``AnthropicAgent``: the Messages API (``POST {base_url}/v1/messages``), streamed.

Written on httpx and msgspec, no SDK. The key is read from ``ANTHROPIC_API_KEY`` (or
``api_key_env``) at call time and sent as ``x-api-key``. With an output type the answer comes
as the input of a forced final tool, ``smithers_output`` (``tool_choice: any``), whose input
schema is the output type's; it is validated (and corrected by feedback) like any agent's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import msgspec

from smithers.agents.conversation import Message, ModelReply, ToolCall, ToolSpec, Usage
from smithers.agents.model_agent import ModelAgent
from smithers.agents.sse import sse_data
from smithers.agents.transport import StreamFailed, StreamReader

__all__ = [
    "ANTHROPIC_VERSION",
    "OUTPUT_TOOL",
    "AnthropicAgent",
    "messages_body",
    "read_messages_stream",
]

ANTHROPIC_VERSION = "2023-06-01"

OUTPUT_TOOL = "smithers_output"
"""The tool whose input is the final answer of an agent with an output type."""

_RETRYABLE_STREAM_ERRORS = frozenset({"overloaded_error", "api_error", "rate_limit_error"})


def _blocks(message: Message) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if message.content:
        blocks.append({"type": "text", "text": message.content})
    for call in message.tool_calls:
        try:
            arguments = msgspec.json.decode(call.arguments or "{}")
        except msgspec.DecodeError:
            arguments = {}
        blocks.append(
            {"type": "tool_use", "id": call.call_id, "name": call.name, "input": arguments}
        )
    return blocks


def _messages_json(messages: Sequence[Message]) -> tuple[str | None, list[dict[str, Any]]]:
    """The system text and the messages; consecutive tool results form one user message."""
    system = [m.content for m in messages if m.role == "system" and m.content]
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        if message.role == "tool":
            result: dict[str, Any] = {
                "type": "tool_result",
                "tool_use_id": message.call_id,
                "content": message.content or "",
            }
            if message.is_error:
                result["is_error"] = True
            if out and out[-1]["role"] == "user" and out[-1].get("_results"):
                out[-1]["content"].append(result)
            else:
                out.append({"role": "user", "content": [result], "_results": True})
        elif message.role == "assistant":
            out.append({"role": "assistant", "content": _blocks(message)})
        else:
            out.append({"role": "user", "content": message.content or ""})
    for entry in out:
        entry.pop("_results", None)
    return ("\n\n".join(system) or None), out


def messages_body(
    model: str,
    max_tokens: int,
    messages: Sequence[Message],
    tools: Sequence[ToolSpec],
    schema: dict[str, Any] | None,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """The request body of one streamed Messages call."""
    system, conversation = _messages_json(messages)
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": conversation,
        "stream": True,
        **extra,
    }
    if system is not None:
        body["system"] = system
    declared = [
        {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in tools
    ]
    if schema is not None:
        declared.append(
            {
                "name": OUTPUT_TOOL,
                "description": "Give your final answer: call this once, the answer as its input.",
                "input_schema": schema,
            }
        )
        body["tool_choice"] = {"type": "any"}
    if declared:
        body["tools"] = declared
    return body


async def read_messages_stream(
    lines: AsyncIterator[str], on_text: Callable[[str], None]
) -> tuple[ModelReply, bool]:
    """A reply from the stream's events (``message_start`` … ``message_stop``)."""
    reply = ModelReply()
    text: list[str] = []
    blocks: dict[int, dict[str, Any]] = {}
    usage: dict[str, int] = {}
    done = False
    async for data in sse_data(lines):
        event = msgspec.json.decode(data)
        kind = event.get("type") if isinstance(event, dict) else None
        if kind == "message_start":
            message = event.get("message") or {}
            reply.model = message.get("model") or ""
            usage.update(
                {
                    k: int(v or 0)
                    for k, v in (message.get("usage") or {}).items()
                    if isinstance(v, int | float)
                }
            )
        elif kind == "content_block_start":
            block = dict(event.get("content_block") or {})
            block["json"] = []
            blocks[int(event.get("index", 0))] = block
        elif kind == "content_block_delta":
            delta = event.get("delta") or {}
            block = blocks.setdefault(int(event.get("index", 0)), {"type": "text", "json": []})
            if delta.get("type") == "text_delta":
                text.append(delta.get("text", ""))
                on_text(delta.get("text", ""))
            elif delta.get("type") == "input_json_delta":
                block["json"].append(delta.get("partial_json", ""))
                if block.get("name") == OUTPUT_TOOL:
                    on_text(delta.get("partial_json", ""))  # the answer, as it streams
        elif kind == "message_delta":
            reply.finish_reason = (event.get("delta") or {}).get("stop_reason")
            usage.update(
                {
                    k: int(v or 0)
                    for k, v in (event.get("usage") or {}).items()
                    if isinstance(v, int | float)
                }
            )
        elif kind == "message_stop":
            done = True
            break
        elif kind == "error":
            error = event.get("error") or {}
            raise StreamFailed(
                str(error.get("message") or "stream error"),
                retryable=error.get("type") in _RETRYABLE_STREAM_ERRORS,
            )
    reply.text = "".join(text)
    calls = [b for _, b in sorted(blocks.items()) if b.get("type") == "tool_use"]
    for block in calls:
        if block.get("name") == OUTPUT_TOOL:
            reply.text = "".join(block["json"]) or "{}"  # the final answer
    reply.tool_calls = [
        ToolCall(str(b.get("id")), str(b.get("name")), "".join(b["json"]) or "{}")
        for b in calls
        if b.get("name") != OUTPUT_TOOL
    ]
    reply.usage = Usage(
        input_tokens=usage.get("input_tokens", 0),
        output_tokens=usage.get("output_tokens", 0),
        cache_read_tokens=usage.get("cache_read_input_tokens", 0),
        cache_write_tokens=usage.get("cache_creation_input_tokens", 0),
    )
    return reply, done


@dataclass(frozen=True, slots=True, repr=False)  # ModelAgent's repr: no secrets, no noise
class AnthropicAgent(ModelAgent):
    """A Claude model behind the Messages API."""

    api_key_env: str = "ANTHROPIC_API_KEY"
    name: str = "anthropic"

    base_url_env: ClassVar[str] = "ANTHROPIC_BASE_URL"
    default_base_url: ClassVar[str] = "https://api.anthropic.com"
    default_max_tokens: ClassVar[int] = 8192
    """``max_tokens`` when ``max_output_tokens`` is not given (the Messages API needs one)."""

    def request(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], schema: dict[str, Any] | None
    ) -> tuple[str, dict[str, Any], dict[str, str], StreamReader]:
        """``POST {base_url}/v1/messages`` with ``x-api-key`` when one is set."""
        headers = {"anthropic-version": ANTHROPIC_VERSION}
        key = self.api_key()
        if key:
            headers["x-api-key"] = key
        options: dict[str, Any] = {}
        if self.temperature is not None:
            options["temperature"] = self.temperature
        limit = self.max_output_tokens or self.default_max_tokens
        body = messages_body(self.model, limit, messages, tools, schema, {**options, **self.extra})
        return self.url("/v1/messages"), body, headers, read_messages_stream
