"""``OpenAIAgent``: the Chat Completions API (``POST {base_url}/chat/completions``), streamed.

Written on httpx and msgspec, no SDK: any server that speaks the same protocol works (a local
Ollama at ``http://127.0.0.1:11434/v1``, vLLM, a gateway). The API key is read from the
environment at call time (``api_key_env``); without one, no ``Authorization`` header is sent
(local servers need none). Structured output asks for ``response_format: json_schema``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import msgspec

from smithers.agents.conversation import Message, ModelReply, ToolCall, ToolSpec, Usage
from smithers.agents.model_agent import ModelAgent
from smithers.agents.sse import sse_data
from smithers.agents.transport import StreamReader

__all__ = ["OpenAIAgent", "chat_body", "read_chat_stream"]


def _message_json(message: Message) -> dict[str, Any]:
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.call_id, "content": message.content or ""}
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        out["tool_calls"] = [
            {
                "id": call.call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in message.tool_calls
        ]
    return out


def chat_body(
    model: str,
    messages: Sequence[Message],
    tools: Sequence[ToolSpec],
    schema: dict[str, Any] | None,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """The request body of one streamed Chat Completions call."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [_message_json(m) for m in messages],
        "stream": True,
        "stream_options": {"include_usage": True},
        **extra,
    }
    if tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                },
            }
            for t in tools
        ]
    if schema is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": schema, "strict": False},
        }
    return body


def _usage(data: dict[str, Any]) -> Usage:
    prompt = int(data.get("prompt_tokens") or 0)
    cached = int((data.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
    reasoning = int((data.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0)
    return Usage(
        input_tokens=max(0, prompt - cached),
        output_tokens=int(data.get("completion_tokens") or 0),
        cache_read_tokens=cached,
        reasoning_tokens=reasoning,
    )


async def read_chat_stream(lines: Any, on_text: Callable[[str], None]) -> tuple[ModelReply, bool]:
    """A reply from the stream's ``data:`` chunks, and whether the stream ended properly
    (``[DONE]`` or a finish reason); text deltas go to ``on_text`` as they arrive."""
    reply = ModelReply()
    text: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    done = False
    async for data in sse_data(lines):
        if data == "[DONE]":
            done = True
            break
        chunk = msgspec.json.decode(data)
        if not isinstance(chunk, dict):
            continue
        reply.model = chunk.get("model") or reply.model
        if isinstance(chunk.get("usage"), dict):
            reply.usage = _usage(chunk["usage"])
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            if delta.get("content"):
                text.append(delta["content"])
                on_text(delta["content"])
            for part in delta.get("tool_calls") or ():
                call = calls.setdefault(int(part.get("index", 0)), {"args": []})
                call["id"] = part.get("id") or call.get("id")
                function = part.get("function") or {}
                call["name"] = function.get("name") or call.get("name")
                call["args"].append(function.get("arguments") or "")
            if choice.get("finish_reason"):
                reply.finish_reason = choice["finish_reason"]
    reply.text = "".join(text)
    reply.tool_calls = [
        ToolCall(str(c.get("id") or f"call_{i}"), str(c.get("name") or ""), "".join(c["args"]))
        for i, c in sorted(calls.items())
    ]
    return reply, done or reply.finish_reason is not None


@dataclass(frozen=True, slots=True, repr=False)  # ModelAgent's repr: no secrets, no noise
class OpenAIAgent(ModelAgent):
    """A model behind an OpenAI-compatible Chat Completions endpoint."""

    api_key_env: str = "OPENAI_API_KEY"
    name: str = "openai"

    base_url_env: ClassVar[str] = "OPENAI_BASE_URL"
    default_base_url: ClassVar[str] = "https://api.openai.com/v1"

    def _options(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self.temperature is not None:
            options["temperature"] = self.temperature
        if self.max_output_tokens is not None:
            options["max_completion_tokens"] = self.max_output_tokens
        return {**options, **self.extra}

    def request(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], schema: dict[str, Any] | None
    ) -> tuple[str, dict[str, Any], dict[str, str], StreamReader]:
        """``POST {base_url}/chat/completions`` with a bearer key when one is set."""
        key = self.api_key()
        return (
            self.url("/chat/completions"),
            chat_body(self.model, messages, tools, schema, self._options()),
            {"authorization": f"Bearer {key}"} if key else {},
            read_chat_stream,
        )
