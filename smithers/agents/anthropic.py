"""``AnthropicAgent``: the Messages API (``POST {base_url}/v1/messages``), streamed.

Written on httpx and msgspec, no SDK. The key is read from ``ANTHROPIC_API_KEY`` (or
``api_key_env``) at call time and sent as ``x-api-key``. With an output type the answer comes
as the input of a forced final tool, ``smithers_output`` (``tool_choice: any``), whose input
schema is the output type's; it is validated (and corrected by feedback) like any agent's.

The codec: a ``ModelRequest`` becomes a ``MessagesBody`` (the answers to one turn's tool calls
in one user message of ``tool_result`` blocks), and the answer stream's events — one tagged
``StreamEvent`` each, by one decoder — build the reply: ``message_start``,
``content_block_start`` / ``_delta`` / ``_stop`` (``text_delta``, ``input_json_delta``),
``message_delta`` with the stop reason and usage, ``message_stop``; an ``error`` event fails
or retries the call. Events of types this module does not know are skipped, as the API's
versioning policy asks; so are deltas of other kinds (a thinking block's).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import ClassVar, Literal, TypeAlias, get_args

import msgspec

from smithers.agents import turns
from smithers.agents.conversation import ModelReply, ModelRequest
from smithers.agents.model_agent import ModelAgent, request_body
from smithers.agents.transport import StreamFailed, WireCall
from smithers.sse import SSEMessage
from smithers.tools.tool import JsonSchema

__all__ = [
    "ANTHROPIC_VERSION",
    "OUTPUT_TOOL",
    "AnthropicAgent",
    "MessagesBody",
    "StreamEvent",
    "messages_body",
    "read_messages_stream",
]

ANTHROPIC_VERSION = "2023-06-01"

OUTPUT_TOOL = "smithers_output"
"""The tool whose input is the final answer of an agent with an output type."""

_RETRYABLE_STREAM_ERRORS = frozenset({"overloaded_error", "api_error", "rate_limit_error"})


# --- the request ---------------------------------------------------------------------------


class _Text(msgspec.Struct, tag_field="type", tag="text"):
    text: str


class _ToolUse(msgspec.Struct, tag_field="type", tag="tool_use"):
    id: str
    name: str
    input: object


class _ToolResult(msgspec.Struct, tag_field="type", tag="tool_result", omit_defaults=True):
    tool_use_id: str
    content: str
    is_error: bool = False


_Block: TypeAlias = _Text | _ToolUse | _ToolResult


class _Message(msgspec.Struct):
    role: Literal["user", "assistant"]
    content: str | list[_Block]


class _DeclaredTool(msgspec.Struct):
    name: str
    description: str
    input_schema: JsonSchema


class _ToolChoice(msgspec.Struct):
    type: Literal["any"] = "any"


class MessagesBody(msgspec.Struct, omit_defaults=True):
    """The body of one streamed Messages call."""

    model: str
    max_tokens: int
    messages: list[_Message]
    stream: bool
    temperature: float | None = None
    system: str | None = None
    tools: list[_DeclaredTool] | None = None
    tool_choice: _ToolChoice | None = None


_KEPT = ("system", "tools", "tool_choice")
"""What ``extra`` cannot replace: the system text, the tools and the output tool's choice."""

_OUTPUT_DESCRIPTION = "Give your final answer: call this once, the answer as its input."


def _arguments(text: str) -> object:
    try:
        return msgspec.json.decode(text or "{}")
    except msgspec.DecodeError:
        return {}


def _messages(request: ModelRequest) -> list[_Message]:
    messages = [_Message("user", request.prompt)]
    for turn in request.turns:
        match turn:
            case turns.AssistantTurn(content=answer):
                blocks: list[_Block] = [_Text(answer.text)] if answer.text else []
                blocks += [
                    _ToolUse(c.call_id, c.name, _arguments(c.arguments)) for c in answer.tool_calls
                ]
                messages.append(_Message("assistant", blocks))
            case turns.ToolResultsTurn(content=results):
                answers: list[_Block] = [
                    _ToolResult(r.call_id, r.content, r.is_error) for r in results
                ]
                messages.append(_Message("user", answers))
            case turns.CorrectionTurn(content=text):
                messages.append(_Message("user", text))
    return messages


def messages_body(
    model: str, max_tokens: int, request: ModelRequest, *, temperature: float | None = None
) -> MessagesBody:
    """The body of ``request`` for ``model``."""
    tools = [_DeclaredTool(t.name, t.description, t.parameters) for t in request.tools]
    if request.output_schema is not None:
        tools.append(_DeclaredTool(OUTPUT_TOOL, _OUTPUT_DESCRIPTION, request.output_schema))
    return MessagesBody(
        model=model,
        max_tokens=max_tokens,
        messages=_messages(request),
        stream=True,
        temperature=temperature,
        system=request.system or None,
        tools=tools or None,
        tool_choice=None if request.output_schema is None else _ToolChoice(),
    )


# --- the answer ----------------------------------------------------------------------------


class _Usage(msgspec.Struct):
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None


class _StartedMessage(msgspec.Struct):
    model: str = ""
    usage: _Usage | None = None


class _MessageStart(msgspec.Struct, tag_field="type", tag="message_start"):
    message: _StartedMessage


class _StartedBlock(msgspec.Struct):
    type: str
    id: str = ""
    name: str = ""


class _OfBlock(msgspec.Struct, tag_field="type", kw_only=True):
    """An event of one content block, by its index."""

    index: int = 0


class _BlockStart(_OfBlock, tag="content_block_start"):
    content_block: _StartedBlock


class _BlockDelta(msgspec.Struct):
    type: str
    text: str = ""
    partial_json: str = ""


class _BlockDeltaEvent(_OfBlock, tag="content_block_delta"):
    delta: _BlockDelta


class _BlockStop(_OfBlock, tag="content_block_stop"):
    pass


class _Stop(msgspec.Struct):
    stop_reason: str | None = None


class _MessageDelta(msgspec.Struct, tag_field="type", tag="message_delta"):
    delta: _Stop
    usage: _Usage | None = None


class _MessageStop(msgspec.Struct, tag_field="type", tag="message_stop"):
    pass


class _Ping(msgspec.Struct, tag_field="type", tag="ping"):
    pass


class _StreamError(msgspec.Struct):
    type: str = ""
    message: str = ""


class _ErrorEvent(msgspec.Struct, tag_field="type", tag="error"):
    error: _StreamError


StreamEvent: TypeAlias = (
    _MessageStart
    | _BlockStart
    | _BlockDeltaEvent
    | _BlockStop
    | _MessageDelta
    | _MessageStop
    | _Ping
    | _ErrorEvent
)
"""One event of an answer stream."""

_events = msgspec.json.Decoder(StreamEvent)
_EVENT_NAMES = frozenset(str(t.__struct_config__.tag) for t in get_args(StreamEvent))


@dataclass(slots=True)
class _OpenBlock:
    """A content block as its deltas arrive."""

    type: str
    id: str = ""
    name: str = ""
    json: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Counts:
    """The usage so far: ``message_start``'s, updated by each ``message_delta``."""

    values: dict[str, int] = field(default_factory=dict)

    def add(self, usage: _Usage | None) -> None:
        if usage is not None:
            self.values.update(
                {k: v for k, v in msgspec.structs.asdict(usage).items() if v is not None}
            )

    def usage(self) -> turns.Usage:
        return turns.Usage(
            input_tokens=self.values.get("input_tokens", 0),
            output_tokens=self.values.get("output_tokens", 0),
            cache_read_tokens=self.values.get("cache_read_input_tokens", 0),
            cache_write_tokens=self.values.get("cache_creation_input_tokens", 0),
        )


def _known(message: SSEMessage) -> bool:
    """Whether the event is one this module reads (a stream without event names: all are)."""
    return message.event == "message" or message.event in _EVENT_NAMES


async def read_messages_stream(
    messages: AsyncIterator[SSEMessage], on_text: Callable[[str], None]
) -> ModelReply | None:
    """The reply the events build, once ``message_stop`` came (else ``None``)."""
    text: list[str] = []
    blocks: dict[int, _OpenBlock] = {}
    counts = _Counts()
    model, finish = "", None
    done = False
    async for message in messages:
        if not _known(message):
            continue
        match _events.decode(message.data):
            case _MessageStart(message=started):
                model = started.model
                counts.add(started.usage)
            case _BlockStart(index=index, content_block=begun):
                blocks[index] = _OpenBlock(begun.type, begun.id, begun.name)
            case _BlockDeltaEvent(index=index, delta=delta):
                opened = blocks.setdefault(index, _OpenBlock("text"))
                if delta.type == "text_delta":
                    text.append(delta.text)
                    on_text(delta.text)
                elif delta.type == "input_json_delta":
                    opened.json.append(delta.partial_json)
                    if opened.name == OUTPUT_TOOL:
                        on_text(delta.partial_json)  # the answer, as it streams
            case _MessageDelta(delta=stop, usage=usage):
                finish = stop.stop_reason
                counts.add(usage)
            case _MessageStop():
                done = True
                break
            case _ErrorEvent(error=error):
                raise StreamFailed(
                    error.message or "stream error",
                    retryable=error.type in _RETRYABLE_STREAM_ERRORS,
                )
    if not done:
        return None
    answer = "".join(text)
    calls: list[turns.ToolCall] = []
    for block in (b for _, b in sorted(blocks.items()) if b.type == "tool_use"):
        arguments = "".join(block.json) or "{}"
        if block.name == OUTPUT_TOOL:
            answer = arguments  # the final answer
        else:
            calls.append(turns.ToolCall(block.id, block.name, arguments))
    return ModelReply(turns.AssistantMessage(answer, tuple(calls)), counts.usage(), finish, model)


@dataclass(frozen=True, slots=True, repr=False)  # ModelAgent's repr: no secrets, no noise
class AnthropicAgent(ModelAgent):
    """A Claude model behind the Messages API."""

    api_key_env: str = "ANTHROPIC_API_KEY"
    name: str = "anthropic"

    base_url_env: ClassVar[str] = "ANTHROPIC_BASE_URL"
    default_base_url: ClassVar[str] = "https://api.anthropic.com"
    default_max_tokens: ClassVar[int] = 8192
    """``max_tokens`` when ``max_output_tokens`` is not given (the Messages API needs one)."""

    def wire_call(self, request: ModelRequest) -> WireCall:
        """``POST {base_url}/v1/messages`` with ``x-api-key`` when one is set."""
        headers = {"anthropic-version": ANTHROPIC_VERSION}
        key = self.api_key()
        if key:
            headers["x-api-key"] = key
        limit = self.max_output_tokens or self.default_max_tokens
        body = messages_body(self.model, limit, request, temperature=self.temperature)
        return WireCall(
            self.url("/v1/messages"),
            request_body(body, self.extra, _KEPT),
            headers,
            read_messages_stream,
        )
