"""The coding-CLI agents against fake executables that print each CLI's documented JSON lines
(Claude Code ``stream-json``, ``codex exec --json``, Gemini CLI ``stream-json``): real
subprocesses in the run's root, a real SQLite file."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from tests.helpers import Harness

FAKE = """#!{python}
import json, os, sys, time
argv = sys.argv[1:]
CLI = {cli!r}
# Each CLI's option parser, as far as these calls use it: Commander (claude: a value option
# takes the next argument), clap (codex) and yargs (gemini: a value option followed by an
# argument that begins with "-" has no value). An unknown option is an error; "--" ends them.
VALUES = {{
    "claude": {{"--output-format", "--model", "--json-schema", "--resume"}},
    "codex": {{"--model", "--output-schema"}},
    "gemini": {{"-p", "--prompt", "--output-format", "--model", "--resume"}},
}}[CLI]
FLAGS = {{"claude": {{"-p", "--verbose"}}, "codex": {{"--json", "--skip-git-repo-check"}}, "gemini": set()}}[CLI]
def usage(message):
    print(message, file=sys.stderr)
    sys.exit(2)
options, positional, i = {{}}, [], 0
while i < len(argv):
    arg, i = argv[i], i + 1
    if arg == "--":
        positional += argv[i:]
        break
    if not arg.startswith("-") or arg == "-":
        positional.append(arg)
        continue
    name, eq, value = arg.partition("=")
    if name in VALUES:
        if not eq:
            if i == len(argv) or (CLI == "gemini" and argv[i].startswith("-")):
                usage("Not enough arguments following: " + name.lstrip("-"))
            value, i = argv[i], i + 1
        options[name] = value
    elif name in FLAGS and not eq:
        options[name] = True
    else:
        usage("error: unexpected argument '" + arg + "' found")
if CLI == "claude":
    (prompt,) = positional
elif CLI == "codex":
    resumed = positional[1] == "resume"
    prompt = positional[3 if resumed else 1]
    if resumed:
        options["resume"] = positional[2]
else:
    prompt = options.get("--prompt", options.get("-p"))
record = {{"argv": argv, "prompt": prompt, "options": options, "env": sorted(os.environ),
           "cwd": os.getcwd()}}
if "--output-schema" in options:
    record["schema_file"] = open(options["--output-schema"]).read()
with open("calls.jsonl", "a") as f:
    f.write(json.dumps(record) + "\\n")
mode = os.environ.get("FAKE_MODE", "ok")
def out(line):
    print(json.dumps(line), flush=True)
if mode == "noisy":  # 64 MiB of stderr, then a key in its last line, and a failed exit
    for _ in range(1024):
        sys.stderr.buffer.write(b"x" * 65535 + b"\\n")
    key = os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("OPENAI_API_KEY", "")
    sys.stderr.write("401 invalid x-api-key: " + key + "\\n")
    sys.exit(3)
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
if mode == "bad" and "--resume" not in options:
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
out({"type": "message", "role": "user", "content": prompt})
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
    return Sequence(Task("sum", agent=agent, prompt={prompt!r}, output=Summary))
"""


_CLI = {"ClaudeCodeAgent": "claude", "CodexAgent": "codex", "GeminiCliAgent": "gemini"}


def _project(tmp_path: Path, cls: str, body: str, prompt: str = "Summarise notes.md") -> Path:
    exe = tmp_path / f"fake-{cls.lower()}"
    exe.write_text(FAKE.format(python=sys.executable, cli=_CLI[cls], body=body))
    exe.chmod(0o755)
    root = tmp_path / "root"
    root.mkdir()
    (root / "notes.md").write_text("one\ntwo\n")
    (root / "cli.py").write_text(WORKFLOW.format(cls=cls, exe=str(exe), prompt=prompt))
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
    argv, options = call["argv"], call["options"]
    if cls == "ClaudeCodeAgent":
        assert argv[:4] == ["-p", "--output-format", "stream-json", "--verbose"]
        assert argv[-2:] == ["--", "Summarise notes.md"] and call["prompt"] == argv[-1]
        schema = json.loads(options["--json-schema"])
        assert schema["required"] == ["summary", "lines"]
    elif cls == "CodexAgent":
        assert argv[:3] == ["exec", "--json", "--skip-git-repo-check"]
        assert json.loads(call["schema_file"])["required"] == ["summary", "lines"]
        assert argv[-2:] == ["--", "Summarise notes.md"]
    else:
        assert argv[0].startswith("--prompt=Summarise notes.md")
        assert "JSON Schema" in call["prompt"]
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
    assert "--resume" not in first["options"]
    assert second["options"]["--resume"] == "3f1c-session"
    assert second["prompt"].startswith("Your answer is not valid")
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


@pytest.mark.parametrize("cls", ["ClaudeCodeAgent", "CodexAgent", "GeminiCliAgent"])
async def test_a_prompt_beginning_with_a_dash_is_not_read_as_an_option(
    cls: str, tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = {"ClaudeCodeAgent": CLAUDE, "CodexAgent": CODEX, "GeminiCliAgent": GEMINI}[cls]
    prompt = "--help: explain what -p and --resume do"
    root = _project(tmp_path, cls, body, prompt=prompt)
    monkeypatch.setenv("FAKE_MODE", "ok")
    async with Harness(sqlite_url) as h:
        _, outcome = await h.run(root / "cli.py")
    assert outcome.status == "finished", outcome
    (call,) = _calls(root)
    assert call["prompt"].startswith(prompt)  # Gemini's carries the schema after it


CLI_KEY = "sk-ant-cli-key-that-must-not-leak-42"


async def test_the_clis_stderr_is_kept_bounded_and_its_key_redacted(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path, "ClaudeCodeAgent", CLAUDE)
    monkeypatch.setenv("FAKE_MODE", "noisy")
    monkeypatch.setenv("ANTHROPIC_API_KEY", CLI_KEY)
    tracemalloc.start()
    try:
        async with Harness(sqlite_url) as h:
            run_id, outcome = await h.run(root / "cli.py")
            events = await h.events(run_id)
            attempts = await h.store.reads.list_attempts(run_id)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert outcome.status == "failed"
    # 64 MiB went through the pipe; only its last 64 KiB were kept
    assert peak < 24 * 1024 * 1024, peak
    (error,) = [e["error"] for e in events if e["type"] == "NodeFailed"]
    assert error["code"] == "CLI_AGENT_FAILED"
    assert error["message"].endswith("401 invalid x-api-key: ***")
    stored = [a.error_json or "" for a in attempts]
    assert CLI_KEY not in json.dumps(events) and not any(CLI_KEY in e for e in stored)
    assert any("invalid x-api-key: ***" in e for e in stored)
