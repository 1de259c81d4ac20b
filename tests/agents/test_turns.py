"""Turns as stored: the JSON every version has written decodes, encodes back byte for byte,
and folds into the conversation a continued attempt sends."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import msgspec
import pytest

from smithers.agents.anthropic import messages_body
from smithers.agents.conversation import ModelRequest
from smithers.agents.openai import chat_body
from smithers.agents.transcript import Transcript
from smithers.agents.turns import (
    AssistantMessage,
    AssistantTurn,
    CorrectionTurn,
    SessionTurn,
    ToolCall,
    ToolResult,
    ToolResultsTurn,
    decode_turn,
    encode_turn,
    replay,
)
from smithers.store.rows import ToolCallRow, TranscriptRow

# (role, content_json) exactly as the code before the typed turns wrote them
ASSISTANT = (
    "assistant",
    '{"text":"","toolCalls":[{"id":"c1","name":"read","arguments":"{\\"path\\": \\"a\\"}"}]}',
)
TOOL = ("tool", '[{"callId":"c1","content":"{\\"text\\":\\"x\\"}","isError":false}]')
FAILED_TOOL = ("tool", '[{"callId":"c2","content":"{\\"error\\":{}}","isError":true}]')
CORRECTION = ("user", '"Your answer is not valid: Expected `object`. Answer again."')
SESSION = ("session", '"3f1c-session"')
FINAL = ("assistant", '{"text":"{\\"ok\\": true}","toolCalls":[]}')
USAGE_JSON = (
    '{"input_tokens":10,"output_tokens":5,"cache_read_tokens":0,'
    '"cache_write_tokens":0,"reasoning_tokens":0}'
)

CALL = ToolCall("c1", "read", '{"path": "a"}')


@pytest.mark.parametrize("stored", [ASSISTANT, TOOL, FAILED_TOOL, CORRECTION, SESSION, FINAL])
def test_todays_rows_decode_and_encode_back_byte_for_byte(stored: tuple[str, str]) -> None:
    assert encode_turn(decode_turn(*stored)) == stored


def test_each_role_is_its_own_turn() -> None:
    assert decode_turn(*ASSISTANT) == AssistantTurn(AssistantMessage("", (CALL,)))
    assert decode_turn(*TOOL) == ToolResultsTurn((ToolResult("c1", '{"text":"x"}'),))
    assert decode_turn(*CORRECTION) == CorrectionTurn(msgspec.json.decode(CORRECTION[1]))
    assert decode_turn(*SESSION) == SessionTurn("3f1c-session")
    # a tool turn of the first version, without isError
    old = decode_turn("tool", '[{"callId": "c1", "content": "{}"}]')
    assert old == ToolResultsTurn((ToolResult("c1", "{}", is_error=False),))
    with pytest.raises(msgspec.ValidationError):
        decode_turn("narrator", '"a role no version wrote"')


def test_continuing_a_conversation_is_a_fold_over_its_turns() -> None:
    turns = [decode_turn(*t) for t in (SESSION, ASSISTANT, TOOL, CORRECTION)]
    second = AssistantTurn(AssistantMessage("", (ToolCall("c2", "read", "{}"),)))
    state = replay([*turns, second])
    assert state.conversation == [*turns[1:], second]  # a CLI's session is not the model's
    assert state.pending == second  # its calls unanswered
    assert (state.model_turns, state.corrections, state.session) == (2, 1, "3f1c-session")
    assert replay([decode_turn(*FINAL)]).pending == decode_turn(*FINAL)  # an answer not taken
    assert replay(turns[:3]).pending is None  # every call answered


def row(status: str, **columns: str) -> ToolCallRow:
    return ToolCallRow(
        run_id="r",
        node_id="n",
        iteration=0,
        attempt=1,
        call_id="c1",
        tool="read",
        status=status,
        started_at_ms=1,
        **columns,  # type: ignore[arg-type]
    )


def test_a_logged_call_answers_as_the_log_says() -> None:
    assert ToolResult.logged(row("ok", output_json='{"text":"x"}')) == ToolResult(
        "c1", '{"text":"x"}'
    )
    refused = '{"name":"PathOutsideRoot","message":"../a is outside","code":"PATH_OUTSIDE_ROOT"}'
    error = ToolResult.logged(row("error", error_json=refused))
    assert error.is_error
    assert msgspec.json.decode(error.content) == {
        "error": {"code": "PATH_OUTSIDE_ROOT", "message": "../a is outside"}
    }
    for unfinished in ("in-progress", "interrupted"):
        interrupted = ToolResult.logged(row(unfinished))
        assert interrupted.is_error and "TOOL_INTERRUPTED" in interrupted.content


class Rows:
    """A memory holding rows as an earlier attempt left them."""

    def __init__(self, turns: Sequence[tuple[str, str]], calls: Sequence[ToolCallRow]) -> None:
        self.turns = [
            TranscriptRow(
                run_id="r",
                node_id="n",
                iteration=0,
                attempt=1,
                turn=n,
                role=role,
                content_json=content,
                usage_json=USAGE_JSON if role == "assistant" else None,
                created_at_ms=n,
            )
            for n, (role, content) in enumerate(turns, 1)
        ]
        self.calls = list(calls)
        self.saved: list[tuple[str, str, str | None]] = []

    async def recall(self) -> tuple[list[TranscriptRow], list[ToolCallRow]]:
        return self.turns, self.calls

    async def save(self, role: str, content_json: str, usage_json: str | None) -> None:
        self.saved.append((role, content_json, usage_json))


def test_a_stored_conversation_is_sent_again_in_each_providers_shape() -> None:
    memory = Rows([ASSISTANT, TOOL, CORRECTION], [row("ok", output_json='{"text":"x"}')])
    state, logged = asyncio.run(Transcript(memory).recall())
    assert logged == {"c1": ToolResult("c1", '{"text":"x"}')}
    request = ModelRequest("Be brief.", "Summarise a", tuple(state.conversation))
    openai = msgspec.json.decode(msgspec.json.encode(chat_body("m", request)))
    assert openai["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Summarise a"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "function": {"name": "read", "arguments": '{"path": "a"}'},
                    "type": "function",
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": '{"text":"x"}'},
        {"role": "user", "content": msgspec.json.decode(CORRECTION[1])},
    ]
    anthropic = msgspec.json.decode(msgspec.json.encode(messages_body("m", 100, request)))
    assert anthropic["system"] == "Be brief."
    assert anthropic["messages"][1:3] == [
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "c1", "name": "read", "input": {"path": "a"}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "c1", "content": '{"text":"x"}'}],
        },
    ]


def test_new_turns_are_saved_in_the_same_form() -> None:
    memory = Rows([], [])
    turn = decode_turn(*ASSISTANT)
    asyncio.run(Transcript(memory).save(turn, usage=None))
    assert memory.saved == [(*ASSISTANT, None)]
