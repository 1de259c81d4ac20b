"""A conversation's turns: one tagged Struct per role, stored as it is.

A turn is ``{"role": ..., "content": ...}``, which is exactly what a row of
``_smithers_transcripts`` keeps in its ``role`` and ``content_json`` columns and what
``GET /v1/runs/{id}/transcript`` serves. The content of each role is the one the rows have
always held, so turns written by any version decode with this one:

| role | turn | content |
|---|---|---|
| ``assistant`` | ``AssistantTurn`` | ``{"text", "toolCalls": [{"id", "name", "arguments"}]}`` |
| ``tool`` | ``ToolResultsTurn`` | ``[{"callId", "content", "isError"}]``, one turn's answers |
| ``user`` | ``CorrectionTurn`` | the text that asked the model to answer again |
| ``session`` | ``SessionTurn`` | a coding CLI's session id |

Continuing a conversation is a fold over its turns (``replay``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeAlias

import msgspec

from smithers.secrets import redact
from smithers.store.rows import ToolCallRow

__all__ = [
    "AssistantMessage",
    "AssistantTurn",
    "CorrectionTurn",
    "ModelTurn",
    "Replay",
    "SessionTurn",
    "ToolCall",
    "ToolResult",
    "ToolResultsTurn",
    "Turn",
    "Usage",
    "decode_turn",
    "encode_turn",
    "replay",
]


class ToolCall(msgspec.Struct, frozen=True):
    """A model's request to call a tool (``arguments`` as the model sent them: JSON text)."""

    call_id: str = msgspec.field(name="id")
    name: str
    arguments: str


class ToolResult(msgspec.Struct, frozen=True, rename="camel"):
    """A tool call's answer as the model reads it: the result's JSON, or an error's."""

    call_id: str
    content: str
    is_error: bool = False

    @classmethod
    def error(cls, call_id: str, code: str, message: str) -> ToolResult:
        """A refusal or a failure, ``{"error": {"code", "message"}}``, without known secrets."""
        body = _ErrorBody(_Error(code, redact(message)))
        return cls(call_id, _encoder.encode(body).decode(), is_error=True)

    @classmethod
    def logged(cls, row: ToolCallRow) -> ToolResult:
        """The answer a call's row in the tool-call log gives: its result, its error, or — for
        a call found unfinished — that it was interrupted and not run again."""
        if row.status == "ok":
            return cls(row.call_id, row.output_json or "null")
        if row.status == "error" and row.error_json:
            error = _logged_error.decode(row.error_json)
            return cls.error(row.call_id, error.code, error.message)
        return cls.error(
            row.call_id,
            "TOOL_INTERRUPTED",
            "this call was interrupted before it finished and was not run again",
        )


class _Error(msgspec.Struct):
    code: str = "TOOL_FAILED"
    message: str = ""


class _ErrorBody(msgspec.Struct):
    error: _Error


class Usage(msgspec.Struct, frozen=True):
    """Tokens of one model call (input tokens exclude those read from the cache); its JSON
    is a turn's ``usage_json``."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    def counts(self) -> dict[str, int]:
        """The counts by name, as ``TaskContext.report_usage`` takes them."""
        return msgspec.structs.asdict(self)


class AssistantMessage(msgspec.Struct, frozen=True, rename="camel"):
    """What the model answered: its text and the tools it called."""

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()


class AssistantTurn(msgspec.Struct, frozen=True, tag_field="role", tag="assistant"):
    """A model's answer."""

    content: AssistantMessage


class ToolResultsTurn(msgspec.Struct, frozen=True, tag_field="role", tag="tool"):
    """The answers to the tool calls of the answer before it, in the calls' order."""

    content: tuple[ToolResult, ...]


class CorrectionTurn(msgspec.Struct, frozen=True, tag_field="role", tag="user"):
    """The model told that its answer did not fit the output type, and asked again."""

    content: str


class SessionTurn(msgspec.Struct, frozen=True, tag_field="role", tag="session"):
    """A coding CLI's session, resumed by the attempt after an interrupted one."""

    content: str


ModelTurn: TypeAlias = AssistantTurn | ToolResultsTurn | CorrectionTurn
"""A turn the model reads back."""
Turn: TypeAlias = ModelTurn | SessionTurn

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Turn)
_logged_error = msgspec.json.Decoder(_Error)


def encode_turn(turn: Turn) -> tuple[str, str]:
    """The ``role`` (the turn's tag) and ``content_json`` of a transcript row."""
    role = type(turn).__struct_config__.tag
    assert isinstance(role, str)
    return role, _encoder.encode(turn.content).decode()


def decode_turn(role: str, content_json: str) -> Turn:
    """The turn a transcript row holds."""
    whole = b'{"role":%s,"content":%s}' % (_encoder.encode(role), content_json.encode())
    turn: Turn = _decoder.decode(whole)
    return turn


@dataclass(slots=True)
class Replay:
    """Where committed turns leave a conversation."""

    conversation: list[ModelTurn] = field(default_factory=list)
    """What the model reads back, after the prompt."""
    pending: AssistantTurn | None = None
    """The last answer, when nothing followed it: its tool calls unanswered, or a final
    answer not yet taken."""
    model_turns: int = 0
    corrections: int = 0
    session: str | None = None
    """The last session a coding CLI named."""

    def add(self, turn: Turn) -> Replay:
        """This replay, ``turn`` taken in."""
        match turn:
            case SessionTurn(content=session):
                self.session = session  # a CLI's turn (a chain may mix agents): not the model's
                return self
            case AssistantTurn():
                self.pending = turn
                self.model_turns += 1
            case CorrectionTurn():
                self.pending = None
                self.corrections += 1
            case ToolResultsTurn():
                self.pending = None
        self.conversation.append(turn)
        return self


def replay(turns: Iterable[Turn]) -> Replay:
    """The fold of ``turns``, oldest first."""
    return functools.reduce(Replay.add, turns, Replay())
