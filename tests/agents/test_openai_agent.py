"""Agent tasks against the scripted model: the real Chat Completions streaming protocol over
loopback HTTP, a real SQLite file, the real tool sandbox."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from smithers.agents import OpenAIAgent
from smithers.agents.testing import Call, Cut, Fail, Reply, ScriptedModel
from tests.helpers import Harness, assert_dense

WORKFLOW = """
import os
import msgspec
from smithers import Task, Sequence, workflow
from smithers.agents import OpenAIAgent
from smithers.tools import read, write

class Summary(msgspec.Struct):
    summary: str
    lines: int

def agent(url, **kw):
    return OpenAIAgent(model="m1", base_url=url, tools=[read, write], system="Be brief.", **kw)

FIRST = agent(os.environ["FIRST_URL"], max_retries={max_retries})
SECOND = agent(os.environ.get("SECOND_URL", os.environ["FIRST_URL"]), name="second")

@workflow("agentic")
def build(ctx):
    return Sequence(
        Task("sum", agent=[FIRST, SECOND], prompt="Summarise notes.md", output=Summary,
             retries={retries}, backoff=0),
    )
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "notes.md").write_text("one\ntwo\n")
    return tmp_path


def _workflow(project: Path, *, retries: int = 0, max_retries: int = 4) -> Path:
    path = project / "agentic.py"
    path.write_text(WORKFLOW.format(retries=retries, max_retries=max_retries))
    return path


def _tokens(kind: str, agent: str = "openai") -> float:
    labels = {"agent": agent, "model": "m1"}
    return REGISTRY.get_sample_value(f"smithers_tokens_{kind}_total", labels) or 0.0


async def test_tools_structured_output_and_feedback(
    project: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = [
        Call("read", {"path": "notes.md"}, more=(("read", {"path": "../secret"}),)),
        Reply("not json at all"),
        Reply('{"summary": "two lines", "lines": 2}', input_tokens=40, cached_tokens=8),
    ]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-never-stored")
    before = _tokens("input")
    with ScriptedModel(script) as model:
        monkeypatch.setenv("FIRST_URL", model.base_url)
        async with Harness(sqlite_url) as h:
            run_id, outcome = await h.run(_workflow(project))
            events = await h.events(run_id)
            calls = await h.store.reads.list_tool_calls(run_id)
            state = await h.store.reads.load_state(run_id)
    assert outcome.status == "finished"
    assert state is not None
    (rows,) = state.typed_outputs.values()
    assert (rows[0]["summary"], rows[0]["lines"]) == ("two lines", 2)
    first, second, third = model.requests
    assert first["stream"] is True and first["stream_options"] == {"include_usage": True}
    assert first["messages"][0] == {"role": "system", "content": "Be brief."}
    assert [t["function"]["name"] for t in first["tools"]] == ["read", "write"]
    assert first["response_format"]["json_schema"]["schema"]["required"] == ["summary", "lines"]
    assert model.headers[0]["authorization"] == "Bearer sk-test-never-stored"
    # both tool results came back in one turn, a refusal as the tool's result
    results = [m for m in second["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in results] == ["call_1_0", "call_1_1"]
    assert "one" in results[0]["content"] and "PATH_OUTSIDE_ROOT" in results[1]["content"]
    assert third["messages"][-1]["role"] == "user"
    assert "not valid" in third["messages"][-1]["content"]
    # the tool calls are in the log under the model's call ids
    assert [(c.call_id, c.tool, c.status) for c in calls] == [
        ("call_1_0", "read", "ok"),
        ("call_1_1", "read", "error"),
    ]
    assert_dense(events)
    usage = [e for e in events if e["type"] == "TokenUsageReported"]
    assert len(usage) == 3 and all(e["agent"] == "openai" and e["attempt"] == 1 for e in usage)
    assert (usage[2]["inputTokens"], usage[2]["cacheReadTokens"]) == (40, 8)
    assert _tokens("input") - before == 10 + 10 + 40
    texts = [e["text"] for e in events if e["type"] == "NodeOutput"]
    assert all(e["stream"] == "agent" for e in events if e["type"] == "NodeOutput")
    assert "".join(texts) == 'not json at all{"summary": "two lines", "lines": 2}'
    assert "sk-test" not in str(events)


async def test_rate_limits_server_errors_and_cut_streams_are_retried(
    project: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = [
        Fail(429, "slow down", {"retry-after": "1"}),
        Fail(500, "oops"),
        Cut("half an ans"),
        Reply('{"summary": "ok", "lines": 1}'),
    ]
    with ScriptedModel(script) as model:
        monkeypatch.setenv("FIRST_URL", model.base_url)
        async with Harness(sqlite_url) as h:
            started = time.monotonic()
            run_id, outcome = await h.run(_workflow(project))
            elapsed = time.monotonic() - started
            attempts = await h.attempts(run_id, "sum")
    assert outcome.status == "finished" and attempts == ["finished"]
    assert len(model.requests) == 4 and elapsed >= 1.0  # retry-after: 1 was honoured


async def test_a_400_fails_the_attempt_with_the_providers_message(
    project: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ScriptedModel([Fail(400, "model 'm1' does not exist")]) as model:
        monkeypatch.setenv("FIRST_URL", model.base_url)
        async with Harness(sqlite_url) as h:
            run_id, outcome = await h.run(_workflow(project))
            events = await h.events(run_id)
    assert outcome.status == "failed" and len(model.requests) == 1
    (failed,) = [e for e in events if e["type"] == "NodeFailed"]
    assert failed["error"]["code"] == "MODEL_CALL_FAILED"
    assert "400 from openai: model 'm1' does not exist" in failed["error"]["message"]


async def test_exhausted_corrections_fail_then_the_chain_uses_the_next_agent(
    project: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        ScriptedModel([Reply("nope"), Reply("still nope"), Reply("never")]) as first,
        ScriptedModel([Reply('{"summary": "second", "lines": 0}')]) as second,
    ):
        monkeypatch.setenv("FIRST_URL", first.base_url)
        monkeypatch.setenv("SECOND_URL", second.base_url)
        async with Harness(sqlite_url) as h:
            run_id, outcome = await h.run(_workflow(project, retries=1))
            events = await h.events(run_id)
            attempts = await h.attempts(run_id, "sum")
    assert outcome.status == "finished" and attempts == ["failed", "finished"]
    (failed,) = [e for e in events if e["type"] == "NodeFailed"]
    assert failed["error"]["code"] == "INVALID_OUTPUT"
    assert len(first.requests) == 3 and len(second.requests) == 1  # output_retries=2
    usage = [(e["attempt"], e["agent"]) for e in events if e["type"] == "TokenUsageReported"]
    assert usage == [(1, "openai")] * 3 + [(2, "second")]


async def test_text_streams_to_events_while_the_model_answers(
    project: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = '{"summary": "' + "word " * 20 + '", "lines": 3}'
    with ScriptedModel([Reply(answer, chunks=10, delay_s=0.15)]) as model:
        monkeypatch.setenv("FIRST_URL", model.base_url)
        async with Harness(sqlite_url) as h:
            run_id = await h.start(_workflow(project))
            seen_early = False
            deadline = time.monotonic() + 20
            while await h.status(run_id) == "running":
                assert time.monotonic() < deadline
                texts = [e["text"] for e in await h.events(run_id) if e["type"] == "NodeOutput"]
                if texts and len("".join(texts)) < len(answer):
                    seen_early = True  # committed while the answer was still streaming
                await asyncio.sleep(0.05)
            events = await h.events(run_id)
    assert seen_early
    outputs = [e["text"] for e in events if e["type"] == "NodeOutput"]
    assert "".join(outputs) == answer and len(outputs) > 1


async def test_cancel_during_a_model_call_stops_within_250_ms(
    project: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ScriptedModel([Reply("x" * 50, chunks=50, delay_s=0.2)]) as model:
        monkeypatch.setenv("FIRST_URL", model.base_url)
        async with Harness(sqlite_url) as h:
            run_id = await h.start(_workflow(project))
            for _ in range(1000):
                if model.requests:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.3)
            waiter = asyncio.create_task(h.wait(run_id))
            await asyncio.sleep(0)
            started = time.monotonic()
            await h.scheduler.cancel_run(h.store, run_id)
            outcome = await waiter
            elapsed = time.monotonic() - started
    assert outcome.status == "cancelled" and elapsed < 0.25


def test_an_agent_holds_no_secret() -> None:
    agent = OpenAIAgent(model="m", api_key_env="MY_KEY")
    assert repr(agent) == "OpenAIAgent(model='m', base_url='https://api.openai.com/v1')"
    assert agent.label == "openai:m"


PROMPTED = """
import os
from smithers import Task, Sequence, workflow
from smithers.agents import OpenAIAgent, Prompt

agent = OpenAIAgent(model="m1", base_url=os.environ["FIRST_URL"])

@workflow("prompted")
def build(ctx):
    return Sequence(
        Task("ask", agent=agent, prompt=Prompt("prompts/ask.md", topic=ctx.input["topic"])),
        Task("missing", agent=agent, prompt=Prompt("prompts/nope.md"), depends_on=["ask"]),
    )
"""


async def test_a_prompt_file_beside_the_workflow_is_formatted(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "ask.md").write_text("Tell me about {topic}.")
    path = tmp_path / "prompted.py"
    path.write_text(PROMPTED)
    with ScriptedModel([Reply("durable workflows are...")]) as model:
        monkeypatch.setenv("FIRST_URL", model.base_url)
        async with Harness(sqlite_url) as h:
            run_id, outcome = await h.run(path, {"topic": "durability"})
            events = await h.events(run_id)
    assert model.requests[0]["messages"] == [
        {"role": "user", "content": "Tell me about durability."}
    ]
    assert outcome.status == "failed" and len(model.requests) == 1
    (error,) = [e["error"] for e in events if e["type"] == "NodeFailed"]
    assert error["code"] == "INVALID_WORKFLOW" and "prompts/nope.md" in error["message"]
