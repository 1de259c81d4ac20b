"""Rebuilding a conversation from committed turns (what a continued attempt starts from)."""

from __future__ import annotations

from smithers.agents.conversation import Message, ToolCall
from smithers.agents.loop import rebuild

CALL = {"id": "c1", "name": "read", "arguments": '{"path": "a"}'}


def test_unanswered_calls_and_untaken_answers_are_pending() -> None:
    turns = [
        ("session", "cli-session"),  # a CLI agent's earlier attempt in a mixed chain
        ("assistant", {"text": "", "toolCalls": [CALL]}),
        ("tool", [{"callId": "c1", "content": '{"text": "x"}'}]),
        ("user", "Your answer is not valid"),
        ("assistant", {"text": "", "toolCalls": [{**CALL, "id": "c2"}]}),
    ]
    messages, pending, model_turns, corrections = rebuild(turns)
    assert messages == [
        Message("assistant", None, (ToolCall("c1", "read", '{"path": "a"}'),)),
        Message("tool", '{"text": "x"}', call_id="c1"),
        Message("user", "Your answer is not valid"),
        Message("assistant", None, (ToolCall("c2", "read", '{"path": "a"}'),)),
    ]
    assert pending is not None and [c.call_id for c in pending.tool_calls] == ["c2"]
    assert (model_turns, corrections) == (2, 1)
    final = rebuild([("assistant", {"text": '{"ok": true}', "toolCalls": []})])[1]
    assert final is not None and final.text == '{"ok": true}' and not final.tool_calls
    answered = rebuild([*turns[:3]])[1]
    assert answered is None
