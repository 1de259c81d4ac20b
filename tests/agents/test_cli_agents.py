"""The coding-CLI agents against fake executables that print each CLI's documented JSON lines
(Claude Code ``stream-json``, ``codex exec --json``, Gemini CLI ``stream-json``): real
subprocesses in the run's root, a real SQLite file."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import Harness

FAKE = """#!{python}
import json, os, sys, time
argv = sys.argv[1:]
record = {{"argv": argv, "env": sorted(os.environ), "cwd": os.getcwd()}}
if "--output-schema" in argv:
    record["schema_file"] = open(argv[argv.index("--output-schema") + 1]).read()
with open("calls.jsonl", "a") as f:
    f.write(json.dumps(record) + "\\n")
mode = os.environ.get("FAKE_MODE", "ok")
def out(line):
    print(json.dumps(line), flush=True)
{body}
"""

CLAUDE = """
session = "3f1c-session"
out({"type": "system", "subtype": "init", "session_id": session, "model": "claude-sonnet-4-5",
     "tools": ["Bash", "Read"]})
if mode == "sleep":
    time.sleep(60)
out({"type": "assistant", "session_id": session, "message": {"role": "assistant",
     "content": [{"type": "text", "text": "Looking at the notes."},
                 {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"file_path": "notes.md"}}]}})
out({"type": "user", "session_id": session, "message": {"role": "user", "content": [
     {"type": "tool_result", "tool_use_id": "toolu_1", "content": "one\\ntwo", "is_error": False}]}})
if mode == "bad" and "--resume" not in argv:
    out({"type": "result", "subtype": "success", "is_error": False, "result": "two lines",
         "session_id": session, "usage": {"input_tokens": 1, "output_tokens": 1}})
    sys.exit(0)
if mode == "fail":
    out({"type": "result", "subtype": "error_max_turns", "is_error": True, "session_id": session,
         "num_turns": 3, "usage": {"input_tokens": 3, "output_tokens": 1}})
    sys.exit(1)
out({"type": "result", "subtype": "success", "is_error": False, "duration_ms": 1200,
     "num_turns": 2, "result": '{"summary": "two lines", "lines": 2}', "session_id": session,
     "total_cost_usd": 0.01, "usage": {"input_tokens": 120, "output_tokens": 30,
     "cache_creation_input_tokens": 5, "cache_read_input_tokens": 900}})
"""

CODEX = """
out({"type": "thread.started", "thread_id": "0199-thread"})
out({"type": "turn.started"})
out({"type": "item.completed", "item": {"id": "item_0", "type": "reasoning", "text": "thinking"}})
out({"type": "item.started", "item": {"id": "item_1", "type": "command_execution",
     "command": "bash -lc cat notes.md", "status": "in_progress"}})
out({"type": "item.completed", "item": {"id": "item_1", "type": "command_execution",
     "command": "bash -lc cat notes.md", "aggregated_output": "one\\ntwo\\n", "exit_code": 0,
     "status": "completed"}})
if mode == "fail":
    out({"type": "turn.failed", "error": {"message": "stream disconnected before completion"}})
    sys.exit(1)
out({"type": "item.completed", "item": {"id": "item_2", "type": "agent_message",
     "text": '{"summary": "two lines", "lines": 2}'}})
out({"type": "turn.completed", "usage": {"input_tokens": 200, "cached_input_tokens": 150,
     "output_tokens": 20}})
"""

GEMINI = """
out({"type": "init", "timestamp": "2026-01-01T00:00:00Z", "session_id": "g-session",
     "model": "gemini-2.5-pro"})
out({"type": "message", "role": "user", "content": argv[1]})
out({"type": "tool_use", "tool_name": "read_file", "tool_id": "read-1",
     "parameters": {"absolute_path": "notes.md"}})
out({"type": "tool_result", "tool_id": "read-1", "status": "success", "output": "one\\ntwo"})
out({"type": "message", "role": "assistant", "content": '{"summary": "two', "delta": True})
out({"type": "message", "role": "assistant", "content": ' lines", "lines": 2}', "delta": True})
if mode == "fail":
    out({"type": "result", "status": "error", "error": {"type": "FatalAuthenticationError",
         "message": "auth failed"}, "stats": {"input_tokens": 0, "output_tokens": 0}})
    sys.exit(41)
out({"type": "result", "status": "success", "stats": {"total_tokens": 75, "input_tokens": 60,
     "output_tokens": 15, "cached": 10, "duration_ms": 900, "tool_calls": 0}})
"""

WORKFLOW = """
import msgspec
from smithers import Task, Sequence, workflow
from smithers.agents import {cls}

class Summary(msgspec.Struct):
    summary: str
    lines: int

agent = {cls}(executable={exe!r}, model="m", env=("FAKE_MODE",))

@workflow("cli")
def build(ctx):
    return Sequence(Task("sum", agent=agent, prompt="Summarise notes.md", output=Summary))
"""


def _project(tmp_path: Path, cls: str, body: str) -> Path:
    exe = tmp_path / f"fake-{cls.lower()}"
    exe.write_text(FAKE.format(python=sys.executable, body=body))
    exe.chmod(0o755)
    root = tmp_path / "root"
    root.mkdir()
    (root / "notes.md").write_text("one\ntwo\n")
    (root / "cli.py").write_text(WORKFLOW.format(cls=cls, exe=str(exe)))
    return root


def _calls(root: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in (root / "calls.jsonl").read_text().splitlines()]


@pytest.mark.parametrize(
    ("cls", "body", "usage"),
    [
        ("ClaudeCodeAgent", CLAUDE, (120, 30, 900, 5)),
        ("CodexAgent", CODEX, (50, 20, 150, 0)),
        ("GeminiCliAgent", GEMINI, (50, 15, 10, 0)),
    ],
)
async def test_each_cli_runs_in_the_root_with_its_schema_and_usage(
    cls: str,
    body: str,
    usage: tuple[int, int, int, int],
    tmp_path: Path,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = _project(tmp_path, cls, body)
    monkeypatch.setenv("SMITHERS_API_KEY", "server-secret")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "claude-key")
    monkeypatch.setenv("FAKE_MODE", "ok")  # named in the agent's env: passed
    async with Harness(sqlite_url) as h:
        run_id, outcome = await h.run(root / "cli.py")
        events = await h.events(run_id)
        state = await h.store.reads.load_state(run_id)
        calls = await h.store.reads.list_tool_calls(run_id)
    assert outcome.status == "finished"
    assert state is not None
    (rows,) = state.typed_outputs.values()
    assert (rows[0]["summary"], rows[0]["lines"]) == ("two lines", 2)
    (call,) = _calls(root)
    assert call["cwd"] == str(root)
    assert "SMITHERS_API_KEY" not in call["env"] and "FAKE_MODE" in call["env"]
    assert ("ANTHROPIC_API_KEY" in call["env"]) == (cls == "ClaudeCodeAgent")
    argv = call["argv"]
    if cls == "ClaudeCodeAgent":
        assert argv[:5] == [
            "-p",
            "Summarise notes.md",
            "--output-format",
            "stream-json",
            "--verbose",
        ]
        schema = json.loads(argv[argv.index("--json-schema") + 1])
        assert schema["required"] == ["summary", "lines"]
    elif cls == "CodexAgent":
        assert argv[:3] == ["exec", "--json", "--skip-git-repo-check"]
        assert json.loads(call["schema_file"])["required"] == ["summary", "lines"]
        assert argv[-1] == "Summarise notes.md"
    else:
        assert argv[:1] == ["-p"] and "JSON Schema" in argv[1]
    (reported,) = [e for e in events if e["type"] == "TokenUsageReported"]
    assert (
        reported["inputTokens"],
        reported["outputTokens"],
        reported["cacheReadTokens"],
        reported["cacheWriteTokens"],
    ) == usage
    assert reported["model"] == "m"
    text = "".join(e["text"] for e in events if e["type"] == "NodeOutput")
    assert text and all(e["stream"] == "agent" for e in events if e["type"] == "NodeOutput")
    assert "claude-key" not in str(events) and "server-secret" not in str(events)
    # the CLI's own tool call is in the run's tool log and events
    (logged,) = calls
    assert (logged.tool, logged.status) == {
        "ClaudeCodeAgent": ("Read", "ok"),
        "CodexAgent": ("command_execution", "ok"),
        "GeminiCliAgent": ("read_file", "ok"),
    }[cls]
    kinds = [e["type"] for e in events if e["type"].startswith("ToolCall")]
    assert kinds == ["ToolCallStarted", "ToolCallFinished"]


@pytest.mark.parametrize(
    ("cls", "body", "message"),
    [
        ("ClaudeCodeAgent", CLAUDE, "exited 1: error_max_turns"),
        ("CodexAgent", CODEX, "exited 1: stream disconnected before completion"),
        ("GeminiCliAgent", GEMINI, "exited 41: auth failed"),
    ],
)
async def test_an_error_exit_fails_the_attempt_with_the_clis_error(
    cls: str,
    body: str,
    message: str,
    tmp_path: Path,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = _project(tmp_path, cls, body)
    monkeypatch.setenv("FAKE_MODE", "fail")
    async with Harness(sqlite_url) as h:
        run_id, outcome = await h.run(root / "cli.py")
        events = await h.events(run_id)
    assert outcome.status == "failed"
    (error,) = [e["error"] for e in events if e["type"] == "NodeFailed"]
    assert error["code"] == "CLI_AGENT_FAILED" and message in error["message"]


async def test_an_answer_that_does_not_fit_is_corrected_on_the_clis_session(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path, "ClaudeCodeAgent", CLAUDE)
    monkeypatch.setenv("FAKE_MODE", "bad")
    async with Harness(sqlite_url) as h:
        run_id, outcome = await h.run(root / "cli.py")
        events = await h.events(run_id)
    assert outcome.status == "finished"
    first, second = _calls(root)
    assert "--resume" not in first["argv"]
    assert second["argv"][second["argv"].index("--resume") + 1] == "3f1c-session"
    assert second["argv"][1].startswith("Your answer is not valid")
    assert sum(1 for e in events if e["type"] == "TokenUsageReported") == 2


async def test_cancel_kills_the_cli_within_250_ms(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path, "ClaudeCodeAgent", CLAUDE)
    monkeypatch.setenv("FAKE_MODE", "sleep")
    async with Harness(sqlite_url) as h:
        run_id = await h.start(root / "cli.py")
        for _ in range(500):
            if (root / "calls.jsonl").exists():
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
        waiter = asyncio.create_task(h.wait(run_id))
        await asyncio.sleep(0)
        started = time.monotonic()
        await h.scheduler.cancel_run(h.store, run_id)
        outcome = await waiter
        elapsed = time.monotonic() - started
        turns, _ = await h.store.reads.transcript(run_id, "sum", 0, [1])
    assert outcome.status == "cancelled" and elapsed < 0.25
    # the session the CLI named was committed: a continued attempt resumes it
    assert [(t.role, json.loads(t.content_json)) for t in turns] == [("session", "3f1c-session")]
