"""The providers' codecs without a server: answer streams (as the providers document them,
split anywhere) read into replies, request bodies with ``extra`` laid over them, and every
agent being an ``Agent``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import msgspec
import pytest

from smithers.agents import (
    Agent,
    AnthropicAgent,
    ClaudeCodeAgent,
    CodexAgent,
    GeminiCliAgent,
    OpenAIAgent,
)
from smithers.agents.anthropic import OUTPUT_TOOL, read_messages_stream
from smithers.agents.conversation import ModelReply, ModelRequest, ToolSpec
from smithers.agents.openai import read_chat_stream
from smithers.agents.transport import StreamFailed, StreamReader
from smithers.agents.turns import AssistantMessage, ToolCall, Usage
from smithers.sse import sse_messages


def _chunk(delta: object = None, finish: str | None = None, **more: object) -> str:
    choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
    body = {"id": "c", "object": "chat.completion.chunk", "model": "gpt-x", "choices": [choice]}
    return "data: " + json.dumps({**body, **more}) + "\n\n"


CHAT = "".join(
    [
        _chunk({"role": "assistant", "content": ""}, usage=None),
        _chunk({"content": "Looking h\u00e9re"}),
        _chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_a",
                        "type": "function",
                        "function": {"name": "read", "arguments": ""},
                    }
                ]
            }
        ),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"path": '}}]}),
        _chunk({"tool_calls": [{"index": 1, "id": "call_b", "function": {"name": "glob"}}]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"a"}'}}]}),
        _chunk({}, "tool_calls"),
        # the usage chunk: no choices (null on some compatible servers)
        'data: {"id": "c", "model": "gpt-x", "choices": null, "usage": {"prompt_tokens": 30, '
        '"completion_tokens": 7, "prompt_tokens_details": {"cached_tokens": 10}, '
        '"completion_tokens_details": {"reasoning_tokens": 2}}}\n\n',
        "data: [DONE]\n\n",
    ]
)


def _event(data: dict[str, object]) -> str:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n"


def _block(index: int, **block: object) -> str:
    return _event({"type": "content_block_start", "index": index, "content_block": block})


def _delta(index: int, **delta: object) -> str:
    return _event({"type": "content_block_delta", "index": index, "delta": delta})


MESSAGES = "".join(
    [
        _event(
            {
                "type": "message_start",
                "message": {
                    "id": "m",
                    "type": "message",
                    "role": "assistant",
                    "content": [],
                    "model": "claude-x",
                    "stop_reason": None,
                    "usage": {
                        "input_tokens": 25,
                        "output_tokens": 1,
                        "cache_read_input_tokens": 100,
                        "cache_creation_input_tokens": 4,
                    },
                },
            }
        ),
        _event({"type": "ping"}),
        _block(0, type="thinking", thinking="", signature=""),
        _delta(0, type="thinking_delta", thinking="hmm"),
        _delta(0, type="signature_delta", signature="sig"),
        _event({"type": "content_block_stop", "index": 0}),
        _event({"type": "a_future_event", "whatever": [1, 2]}),  # new types may come
        _block(1, type="text", text=""),
        _delta(1, type="text_delta", text="Reading \u2603"),
        _block(2, type="tool_use", id="toolu_1", name="read", input={}),
        _delta(2, type="input_json_delta", partial_json='{"path":'),
        _delta(2, type="input_json_delta", partial_json=' "a"}'),
        _event({"type": "content_block_stop", "index": 2}),
        _event(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                "usage": {"output_tokens": 42},
            }
        ),
        _event({"type": "message_stop"}),
    ]
)


async def _read(reader: StreamReader, stream: bytes, step: int) -> tuple[ModelReply | None, str]:
    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(stream), step):
            yield stream[start : start + step]

    texts: list[str] = []
    reply = await reader(sse_messages(chunks()), texts.append)
    return reply, "".join(texts)


CHAT_REPLY = ModelReply(
    AssistantMessage(
        "Looking h\u00e9re",
        (ToolCall("call_a", "read", '{"path": "a"}'), ToolCall("call_b", "glob", "")),
    ),
    Usage(input_tokens=20, output_tokens=7, cache_read_tokens=10, reasoning_tokens=2),
    "tool_calls",
    "gpt-x",
)
MESSAGES_REPLY = ModelReply(
    AssistantMessage("Reading \u2603", (ToolCall("toolu_1", "read", '{"path": "a"}'),)),
    Usage(input_tokens=25, output_tokens=42, cache_read_tokens=100, cache_write_tokens=4),
    "tool_use",
    "claude-x",
)


@pytest.mark.parametrize("step", [1, 7, 10_000])
@pytest.mark.parametrize(
    ("reader", "stream", "reply"),
    [(read_chat_stream, CHAT, CHAT_REPLY), (read_messages_stream, MESSAGES, MESSAGES_REPLY)],
    ids=["chat-completions", "messages"],
)
def test_an_answer_stream_builds_the_reply_however_it_is_split(
    reader: StreamReader, stream: str, reply: ModelReply, step: int
) -> None:
    """Text deltas stream as they come; what a codec does not read (the Messages stream's
    thinking block and a future event type, the chunks' unknown fields) is skipped."""
    assert asyncio.run(_read(reader, stream.encode(), step)) == (reply, reply.message.text)


def test_a_chat_completions_stream_without_its_end_is_cut() -> None:
    cut = CHAT.split("data: [DONE]")[0].replace('"finish_reason": "tool_calls"', '"x": 1')
    assert asyncio.run(_read(read_chat_stream, cut.encode(), 5))[0] is None


def test_the_output_tool_is_the_answer_and_an_error_event_fails_the_stream() -> None:
    answer = MESSAGES.replace('"name": "read"', f'"name": "{OUTPUT_TOOL}"')
    reply, streamed = asyncio.run(_read(read_messages_stream, answer.encode(), 64))
    assert reply is not None and reply.message == AssistantMessage('{"path": "a"}')
    assert streamed == 'Reading \u2603{"path": "a"}'
    overloaded = _event({"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})
    with pytest.raises(StreamFailed, match="busy") as caught:
        asyncio.run(
            _read(
                read_messages_stream,
                MESSAGES.split("event: ping")[0].encode() + overloaded.encode(),
                64,
            )
        )
    assert caught.value.retryable
    assert (
        asyncio.run(
            _read(read_messages_stream, MESSAGES.split("event: message_stop")[0].encode(), 64)
        )[0]
        is None
    )


REQUEST = ModelRequest(
    "Be brief.",
    "Go",
    tools=(ToolSpec("read", "Read a file.", {"type": "object"}),),
    output_schema={"type": "object", "properties": {}},
)


def test_extra_fields_lie_over_the_body_but_not_over_the_tools_or_the_output() -> None:
    extra = {"stream_options": {"include_usage": False}, "tools": [], "seed": 7, "model": "other"}
    openai = OpenAIAgent(model="m", base_url="http://h/v1", temperature=0.5, extra=extra)
    body = msgspec.json.decode(openai.wire_call(REQUEST).body)
    assert (body["model"], body["seed"], body["temperature"]) == ("other", 7, 0.5)
    assert body["stream_options"] == {"include_usage": False}
    assert [t["function"]["name"] for t in body["tools"]] == ["read"]
    assert body["response_format"]["json_schema"]["schema"] == REQUEST.output_schema
    anthropic = AnthropicAgent(
        model="m", base_url="http://h", max_output_tokens=99, extra={"system": "x", "top_k": 3}
    )
    call = anthropic.wire_call(REQUEST)
    body = msgspec.json.decode(call.body)
    assert call.url == "http://h/v1/messages" and call.headers["anthropic-version"]
    assert (body["max_tokens"], body["top_k"], body["system"]) == (99, 3, "Be brief.")
    assert [t["name"] for t in body["tools"]] == ["read", OUTPUT_TOOL]
    assert body["tool_choice"] == {"type": "any"}
    plain = msgspec.json.decode(AnthropicAgent(model="m").wire_call(ModelRequest(None, "Go")).body)
    assert plain == {
        "model": "m",
        "max_tokens": 8192,
        "messages": [{"role": "user", "content": "Go"}],
        "stream": True,
    }


@pytest.mark.parametrize(
    "agent",
    [
        OpenAIAgent(model="m"),
        AnthropicAgent(model="m"),
        ClaudeCodeAgent(),
        CodexAgent(model="m"),
        GeminiCliAgent(),
    ],
    ids=type,
)
def test_every_agent_is_an_agent(agent: Agent) -> None:
    assert isinstance(agent, Agent) and ":" in agent.label
