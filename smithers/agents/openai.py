"""``OpenAIAgent``: the Chat Completions API (``POST {base_url}/chat/completions``), streamed.

Written on httpx and msgspec, no SDK: any server that speaks the same protocol works (a local
Ollama at ``http://127.0.0.1:11434/v1``, vLLM, a gateway). The API key is read from the
environment at call time (``api_key_env``); without one, no ``Authorization`` header is sent
(local servers need none). Structured output asks for ``response_format: json_schema``.

The codec: a ``ModelRequest`` becomes a ``ChatBody`` (messages, tools, response format), and
the answer's ``chat.completion.chunk``s — each decoded as a ``Chunk`` by one decoder — build
the reply: text deltas, tool-call deltas gathered by ``index``, the finish reason, and the
usage chunk that ``stream_options.include_usage`` asks for. Every field of a chunk may be
missing or ``null`` (compatible servers differ in what they send).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import ClassVar, Literal, TypeAlias

import msgspec

from smithers.agents import turns
from smithers.agents.conversation import ModelReply, ModelRequest
from smithers.agents.model_agent import ModelAgent, request_body
from smithers.agents.transport import WireCall
from smithers.sse import SSEMessage
from smithers.tools.tool import JsonSchema

__all__ = ["ChatBody", "Chunk", "OpenAIAgent", "chat_body", "read_chat_stream"]


# --- the request ---------------------------------------------------------------------------


class _Function(msgspec.Struct):
    name: str
    arguments: str


class _CalledTool(msgspec.Struct):
    id: str
    function: _Function
    type: Literal["function"] = "function"


class _System(msgspec.Struct, tag_field="role", tag="system"):
    content: str


class _User(msgspec.Struct, tag_field="role", tag="user"):
    content: str


class _Assistant(msgspec.Struct, tag_field="role", tag="assistant", omit_defaults=True):
    content: str | None
    tool_calls: tuple[_CalledTool, ...] = ()


class _ToolAnswer(msgspec.Struct, tag_field="role", tag="tool"):
    tool_call_id: str
    content: str


_Message: TypeAlias = _System | _User | _Assistant | _ToolAnswer


class _DeclaredFunction(msgspec.Struct):
    name: str
    description: str
    parameters: JsonSchema


class _DeclaredTool(msgspec.Struct):
    function: _DeclaredFunction
    type: Literal["function"] = "function"


class _JsonSchemaFormat(msgspec.Struct):
    schema: JsonSchema
    name: str = "output"
    strict: bool = False


class _ResponseFormat(msgspec.Struct):
    json_schema: _JsonSchemaFormat
    type: Literal["json_schema"] = "json_schema"


class _StreamOptions(msgspec.Struct):
    include_usage: bool


class ChatBody(msgspec.Struct, omit_defaults=True):
    """The body of one streamed Chat Completions call."""

    model: str
    messages: list[_Message]
    stream: bool
    stream_options: _StreamOptions
    tools: list[_DeclaredTool] | None = None
    response_format: _ResponseFormat | None = None
    temperature: float | None = None
    max_completion_tokens: int | None = None


_KEPT = ("tools", "response_format")
"""What ``extra`` cannot replace: the tools and the output format come from the task."""


def _messages(request: ModelRequest) -> list[_Message]:
    messages: list[_Message] = [] if request.system is None else [_System(request.system)]
    messages.append(_User(request.prompt))
    for turn in request.turns:
        match turn:
            case turns.AssistantTurn(content=answer):
                calls = tuple(
                    _CalledTool(c.call_id, _Function(c.name, c.arguments))
                    for c in answer.tool_calls
                )
                messages.append(_Assistant(answer.text or None, calls))
            case turns.ToolResultsTurn(content=results):
                messages += [_ToolAnswer(r.call_id, r.content) for r in results]
            case turns.CorrectionTurn(content=text):
                messages.append(_User(text))
    return messages


def chat_body(
    model: str,
    request: ModelRequest,
    *,
    temperature: float | None = None,
    max_completion_tokens: int | None = None,
) -> ChatBody:
    """The body of ``request`` for ``model``."""
    tools = [
        _DeclaredTool(_DeclaredFunction(t.name, t.description, t.parameters)) for t in request.tools
    ]
    schema = request.output_schema
    return ChatBody(
        model=model,
        messages=_messages(request),
        stream=True,
        stream_options=_StreamOptions(include_usage=True),
        tools=tools or None,
        response_format=None if schema is None else _ResponseFormat(_JsonSchemaFormat(schema)),
        temperature=temperature,
        max_completion_tokens=max_completion_tokens,
    )


# --- the answer ----------------------------------------------------------------------------


class _FunctionDelta(msgspec.Struct):
    name: str | None = None
    arguments: str | None = None


class _ToolCallDelta(msgspec.Struct):
    index: int = 0
    id: str | None = None
    function: _FunctionDelta | None = None


class _Delta(msgspec.Struct):
    content: str | None = None
    tool_calls: list[_ToolCallDelta] | None = None


class _Choice(msgspec.Struct):
    delta: _Delta | None = None
    finish_reason: str | None = None


class _PromptDetails(msgspec.Struct):
    cached_tokens: int | None = None


class _CompletionDetails(msgspec.Struct):
    reasoning_tokens: int | None = None


class _ChunkUsage(msgspec.Struct):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    prompt_tokens_details: _PromptDetails | None = None
    completion_tokens_details: _CompletionDetails | None = None

    def usage(self) -> turns.Usage:
        prompt = self.prompt_tokens or 0
        cached = (self.prompt_tokens_details or _PromptDetails()).cached_tokens or 0
        details = self.completion_tokens_details or _CompletionDetails()
        return turns.Usage(
            input_tokens=max(0, prompt - cached),
            output_tokens=self.completion_tokens or 0,
            cache_read_tokens=cached,
            reasoning_tokens=details.reasoning_tokens or 0,
        )


class Chunk(msgspec.Struct):
    """A ``chat.completion.chunk``, as far as a reply needs it."""

    model: str | None = None
    choices: list[_Choice] | None = None
    usage: _ChunkUsage | None = None


_chunks = msgspec.json.Decoder(Chunk)


@dataclass(slots=True)
class _CallParts:
    """A tool call as its deltas arrive."""

    id: str | None = None
    name: str | None = None
    arguments: list[str] = field(default_factory=list)

    def add(self, delta: _ToolCallDelta) -> None:
        self.id = delta.id or self.id
        if delta.function is not None:
            self.name = delta.function.name or self.name
            self.arguments.append(delta.function.arguments or "")


async def read_chat_stream(
    messages: AsyncIterator[SSEMessage], on_text: Callable[[str], None]
) -> ModelReply | None:
    """The reply the chunks build, once the stream ended properly (``[DONE]`` or a finish
    reason; else ``None``); text deltas go to ``on_text`` as they arrive."""
    text: list[str] = []
    calls: dict[int, _CallParts] = {}
    model, usage, finish = "", turns.Usage(), None
    done = False
    async for message in messages:
        if message.data == "[DONE]":
            done = True
            break
        chunk = _chunks.decode(message.data)
        model = chunk.model or model
        if chunk.usage is not None:
            usage = chunk.usage.usage()
        for choice in chunk.choices or ():
            delta = choice.delta or _Delta()
            if delta.content:
                text.append(delta.content)
                on_text(delta.content)
            for part in delta.tool_calls or ():
                calls.setdefault(part.index, _CallParts()).add(part)
            finish = choice.finish_reason or finish
    if not done and finish is None:
        return None
    tool_calls = tuple(
        turns.ToolCall(c.id or f"call_{i}", c.name or "", "".join(c.arguments))
        for i, c in sorted(calls.items())
    )
    return ModelReply(turns.AssistantMessage("".join(text), tool_calls), usage, finish, model)


@dataclass(frozen=True, slots=True, repr=False)  # ModelAgent's repr: no secrets, no noise
class OpenAIAgent(ModelAgent):
    """A model behind an OpenAI-compatible Chat Completions endpoint."""

    api_key_env: str = "OPENAI_API_KEY"
    name: str = "openai"

    base_url_env: ClassVar[str] = "OPENAI_BASE_URL"
    default_base_url: ClassVar[str] = "https://api.openai.com/v1"

    def wire_call(self, request: ModelRequest) -> WireCall:
        """``POST {base_url}/chat/completions`` with a bearer key when one is set."""
        key = self.api_key()
        body = chat_body(
            self.model,
            request,
            temperature=self.temperature,
            max_completion_tokens=self.max_output_tokens,
        )
        return WireCall(
            self.url("/chat/completions"),
            request_body(body, self.extra, _KEPT),
            {"authorization": f"Bearer {key}"} if key else {},
            read_chat_stream,
        )
