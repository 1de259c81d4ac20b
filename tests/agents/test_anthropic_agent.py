"""``AnthropicAgent`` against the scripted model's Messages protocol (streamed events as the
provider documents them), over loopback HTTP, with a real SQLite file and the real sandbox."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from smithers.agents import AnthropicAgent
from smithers.agents.testing import Call, Cut, Fail, Reply, ScriptedModel
from tests.helpers import Harness, assert_dense

WORKFLOW = """
import os
import msgspec
from smithers import Task, Sequence, workflow
from smithers.agents import AnthropicAgent
from smithers.tools import read

class Summary(msgspec.Struct):
    summary: str
    lines: int

claude = AnthropicAgent(model="claude-test", base_url=os.environ["MODEL_URL"], tools=[read],
                        system="Be brief.", max_output_tokens=1024, temperature=0.2)

@workflow("claude")
def build(ctx):
    return Sequence(Task("sum", agent=claude, prompt="Summarise notes.md", output=Summary))
"""


@pytest.fixture
def workflow(tmp_path: Path) -> Path:
    (tmp_path / "notes.md").write_text("one\ntwo\n")
    path = tmp_path / "claude.py"
    path.write_text(WORKFLOW)
    return path


async def test_tool_use_structured_output_and_feedback(
    workflow: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = [
        Call(
            "read",
            {"path": "notes.md"},
            more=(("read", {"path": "/etc/passwd"}),),
            text="Let me look.",
        ),
        Reply("two lines, I think"),
        Reply('{"summary": "two lines", "lines": 2}', input_tokens=30, cached_tokens=12),
    ]
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-never-stored")
    with ScriptedModel(script) as model:
        monkeypatch.setenv("MODEL_URL", model.anthropic_url)
        async with Harness(sqlite_url) as h:
            run_id, outcome = await h.run(workflow)
            events = await h.events(run_id)
            calls = await h.store.reads.list_tool_calls(run_id)
    assert outcome.status == "finished"
    first, second, third = model.requests
    headers = model.headers[0]
    assert headers["x-api-key"] == "sk-ant-never-stored"
    assert headers["anthropic-version"] == "2023-06-01"
    assert first["max_tokens"] == 1024 and first["stream"] is True and first["temperature"] == 0.2
    assert first["system"] == "Be brief."
    # structured output: a forced final tool whose input schema is the output type's
    assert [t["name"] for t in first["tools"]] == ["read", "smithers_output"]
    assert first["tools"][1]["input_schema"]["required"] == ["summary", "lines"]
    assert first["tool_choice"] == {"type": "any"}
    assert first["messages"] == [{"role": "user", "content": "Summarise notes.md"}]
    # the assistant turn replayed as blocks; both results in one user message
    assistant, results = second["messages"][1], second["messages"][2]
    assert [b["type"] for b in assistant["content"]] == ["text", "tool_use", "tool_use"]
    assert assistant["content"][1]["input"] == {"path": "notes.md"}
    assert results["role"] == "user"
    assert [b["tool_use_id"] for b in results["content"]] == ["toolu_1_0", "toolu_1_1"]
    assert "PATH_OUTSIDE_ROOT" in results["content"][1]["content"]
    assert results["content"][1]["is_error"] is True and "is_error" not in results["content"][0]
    assert "not valid" in third["messages"][-1]["content"]
    assert [(c.call_id, c.status) for c in calls] == [("toolu_1_0", "ok"), ("toolu_1_1", "error")]
    assert_dense(events)
    usage = [e for e in events if e["type"] == "TokenUsageReported"]
    assert [(e["agent"], e["model"]) for e in usage] == [("anthropic", "claude-test")] * 3
    assert (usage[2]["inputTokens"], usage[2]["cacheReadTokens"]) == (30, 12)
    text = "".join(e["text"] for e in events if e["type"] == "NodeOutput")
    assert text == 'Let me look.two lines, I think{"summary": "two lines", "lines": 2}'
    assert "sk-ant" not in str(events)


async def test_overloads_and_cut_streams_are_retried_a_400_is_not(
    workflow: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = [
        Fail(529, "Overloaded", {"retry-after": "1"}),
        Cut("hal"),
        Reply('{"summary": "ok", "lines": 1}'),
        Fail(400, "max_tokens: must be at most 64000"),
    ]
    with ScriptedModel(script) as model:
        monkeypatch.setenv("MODEL_URL", model.anthropic_url)
        async with Harness(sqlite_url) as h:
            started = time.monotonic()
            _, outcome = await h.run(workflow)
            elapsed = time.monotonic() - started
            failed_id, failed = await h.run(workflow)
            events = await h.events(failed_id)
    assert outcome.status == "finished" and elapsed >= 1.0
    assert failed.status == "failed" and len(model.requests) == 4
    (error,) = [e["error"] for e in events if e["type"] == "NodeFailed"]
    assert error["code"] == "MODEL_CALL_FAILED"
    assert error["message"] == "400 from anthropic: max_tokens: must be at most 64000"


def test_an_anthropic_agent_holds_no_secret() -> None:
    agent = AnthropicAgent(model="claude-x")
    assert repr(agent) == "AnthropicAgent(model='claude-x', base_url='https://api.anthropic.com')"
    assert agent.label == "anthropic:claude-x"
