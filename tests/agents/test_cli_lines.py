"""Each coding CLI's JSON lines (as the CLIs document them) read into the runner's events;
lines that are not the CLI's protocol, or of kinds it does not read, give none."""

from __future__ import annotations

import json

import pytest

from smithers.agents import ClaudeCodeAgent, CodexAgent, GeminiCliAgent
from smithers.agents import cli_events as events
from smithers.agents.coding_cli import CliAgent
from smithers.agents.turns import Usage


def read(agent: CliAgent, *lines: object) -> list[events.Event]:
    return [e for line in lines for e in agent.read_line(json.dumps(line).encode() + b"\n")]


NOT_PROTOCOL = [b"Loading config...\n", b"[1, 2]\n", b'{"no": "type"}\n', b'{"type": 3}\n']


@pytest.mark.parametrize("agent", [ClaudeCodeAgent(), CodexAgent(), GeminiCliAgent()], ids=type)
def test_what_is_not_the_protocol_says_nothing(agent: CliAgent) -> None:
    assert [agent.read_line(line) for line in NOT_PROTOCOL] == [[]] * len(NOT_PROTOCOL)
    assert read(agent, {"type": "a_kind_of_line_from_a_later_version"}) == []


def test_claude_code_lines() -> None:
    said = read(
        ClaudeCodeAgent(),
        {"type": "system", "subtype": "init", "session_id": "s1", "tools": ["Read"]},
        {
            "type": "assistant",
            "session_id": "s1",
            "message": {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Looking."},
                    {"type": "tool_use", "id": "t1", "name": "Read", "input": {"file_path": "a"}},
                ],
            },
        },
        {"type": "user", "message": {"role": "user", "content": "a prompt, as text"}},
        {
            "type": "user",
            "message": {
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t1",
                        "content": "one",
                        "is_error": False,
                    },
                    {
                        "type": "tool_result",
                        "tool_use_id": "t2",
                        "content": [{"type": "text"}],
                        "is_error": True,
                    },
                ]
            },
        },
        {
            "type": "result",
            "subtype": "success",
            "is_error": False,
            "result": "done",
            "session_id": "s1",
            "total_cost_usd": 0.01,
            "usage": {
                "input_tokens": 3,
                "output_tokens": 2,
                "cache_read_input_tokens": 9,
                "cache_creation_input_tokens": 1,
                "service_tier": "standard",
            },
        },
        {"type": "result", "subtype": "error_max_turns", "is_error": True, "session_id": "s1"},
    )
    assert said == [
        events.Session("s1"),
        events.Text("Looking."),
        events.ToolStarted("t1", "Read", {"file_path": "a"}),
        events.ToolEnded("t1", "one"),
        events.ToolEnded("t2", '[{"type":"text"}]', ok=False),
        events.Session("s1"),
        events.Tokens(
            Usage(input_tokens=3, output_tokens=2, cache_read_tokens=9, cache_write_tokens=1)
        ),
        events.Result("done"),
        events.Session("s1"),
        events.Tokens(Usage()),
        events.Failure("error_max_turns"),
    ]


def test_codex_lines() -> None:
    command = {"id": "i1", "type": "command_execution", "command": "cat a", "status": "in_progress"}
    said = read(
        CodexAgent(),
        {"type": "thread.started", "thread_id": "th"},
        {"type": "turn.started"},
        {"type": "item.completed", "item": {"id": "i0", "type": "reasoning", "text": "hm"}},
        {"type": "item.started", "item": command},
        {
            "type": "item.completed",
            "item": {**command, "aggregated_output": "x", "exit_code": 0, "status": "completed"},
        },
        {"type": "item.completed", "item": {**command, "exit_code": 2, "status": "failed"}},
        {"type": "item.completed", "item": {"id": "i2", "type": "agent_message", "text": "{}"}},
        {
            "type": "turn.completed",
            "usage": {"input_tokens": 20, "cached_input_tokens": 15, "output_tokens": 4},
        },
        {"type": "turn.failed", "error": {"message": "disconnected"}},
        {"type": "error", "message": "reconnecting"},
    )
    assert said == [
        events.Session("th"),
        events.ToolStarted("i1", "command_execution", {"command": "cat a"}),
        events.ToolEnded("i1", "x"),
        events.ToolEnded("i1", "failed", ok=False),
        events.Text("{}"),
        events.Result("{}"),
        events.Tokens(Usage(input_tokens=5, output_tokens=4, cache_read_tokens=15)),
        events.Failure("disconnected"),
        events.Failure("reconnecting"),
    ]


def test_gemini_cli_lines() -> None:
    said = read(
        GeminiCliAgent(),
        {"type": "init", "timestamp": "t", "session_id": "g", "model": "gemini-x"},
        {"type": "message", "role": "user", "content": "the prompt"},
        {"type": "message", "role": "assistant", "content": "part", "delta": True},
        {
            "type": "tool_use",
            "tool_name": "read_file",
            "tool_id": "r1",
            "parameters": {"absolute_path": "a"},
        },
        {"type": "tool_result", "tool_id": "r1", "status": "success", "output": "one"},
        {
            "type": "tool_result",
            "tool_id": "r2",
            "status": "error",
            "error": {"type": "x", "message": "no such file"},
        },
        {
            "type": "result",
            "status": "success",
            "stats": {"input_tokens": 9, "output_tokens": 2, "cached": 4, "duration_ms": 1},
        },
        {"type": "result", "status": "error", "error": {"message": "auth failed"}},
    )
    assert said == [
        events.Session("g"),
        events.Text("part"),
        events.ToolStarted("r1", "read_file", {"absolute_path": "a"}),
        events.ToolEnded("r1", "one"),
        events.ToolEnded("r2", "no such file", ok=False),
        events.Tokens(Usage(input_tokens=5, output_tokens=2, cache_read_tokens=4)),
        events.Result(),
        events.Tokens(Usage()),
        events.Failure("auth failed"),
    ]
