"""Agent tasks on a real server process: streamed text reaching an SSE client while the model
is still answering, agent tasks in Parallel and Loop with the usual Task options, a cancel
during an agent's tool call, and no key anywhere it must not be."""

from __future__ import annotations

import json
import textwrap
import threading
import time
from pathlib import Path

import httpx
from httpx_sse import connect_sse

from smithers.agents.testing import Call, Reply, ScriptedModel
from tests.server.process import ServerProcess, events_of, status_of, wait_until

KEY = "sk-live-must-never-leak-0123456789"

WORKFLOW = """
    import os
    import msgspec
    from smithers import Loop, Parallel, Sequence, Task, workflow
    from smithers.agents import OpenAIAgent
    from smithers.tools import bash

    agent = OpenAIAgent(model="m", base_url=os.environ["MODEL_URL"], tools=[bash])

    class Word(msgspec.Struct):
        word: str

    @workflow("agents")
    def build(ctx):
        if ctx.input.get("slow"):
            return Sequence(Task("talk", agent=agent, prompt="Talk slowly."))
        if ctx.input.get("tool"):
            return Sequence(Task("work", agent=agent, prompt="Run a long command."))
        return Sequence(
            Parallel(
                Task("a", agent=agent, prompt="Say a word.", output=Word),
                Task("b", agent=agent, prompt="Say a word.", output=Word, needs_approval=True),
            ),
            Loop(
                "again",
                lambda c: Task("twice", agent=agent, prompt=f"Iteration {c.iteration}.",
                               retries=1, backoff=0),
                until=len(ctx.outputs.get("twice", {})) >= 2,
                max_iterations=3,
            ),
        )
"""


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "agents.py").write_text(textwrap.dedent(WORKFLOW))
    return root


def _start(client: httpx.Client, body: dict) -> str:  # type: ignore[type-arg]
    response = client.post("/v1/runs", json={"workflowPath": "agents.py", **body})
    assert response.status_code == 200, response.text
    return str(response.json()["runId"])


def test_text_reaches_an_sse_client_while_the_model_answers(tmp_path: Path) -> None:
    root = _project(tmp_path)
    answer = "".join(f"word{i} " for i in range(30))
    with ScriptedModel([Reply(answer, chunks=15, delay_s=0.2)]) as model:
        env = {"MODEL_URL": model.base_url, "OPENAI_API_KEY": KEY}
        with (
            ServerProcess(root, str(tmp_path / "s.db"), env=env) as server,
            httpx.Client(base_url=server.url, timeout=30) as client,
        ):
            run_id = _start(client, {"input": {"slow": True}})
            seen: list[str] = []
            with connect_sse(client, "GET", f"/v1/runs/{run_id}/events") as source:
                for sse in source.iter_sse():
                    event = sse.json() if sse.data else {}
                    if event.get("type") == "NodeOutput":
                        seen.append(event["text"])
                        if len("".join(seen)) < len(answer):
                            # the model has not finished: its stream is still being served
                            assert status_of(client, run_id) == "running"
                            break
            wait_until(lambda: status_of(client, run_id) == "finished", timeout=30)
            events = events_of(client, run_id)
    assert seen and len("".join(seen)) < len(answer)
    text = "".join(e["text"] for e in events if e["type"] == "NodeOutput")
    assert text == answer
    assert KEY not in json.dumps(events) and not any(KEY in line for line in server.log)


def test_agent_tasks_in_parallel_and_loop_keep_their_options(tmp_path: Path) -> None:
    root = _project(tmp_path)
    script = [
        Reply('{"word": "alpha"}'),
        Reply('{"word": "beta"}'),
        Reply("first"),
        Reply("second"),
    ]
    with ScriptedModel(script) as model:
        env = {"MODEL_URL": model.base_url, "OPENAI_API_KEY": KEY}
        with (
            ServerProcess(root, str(tmp_path / "s.db"), env=env) as server,
            httpx.Client(base_url=server.url, timeout=30) as client,
        ):
            run_id = _start(client, {})
            wait_until(lambda: status_of(client, run_id) == "waiting-approval", timeout=30)
            assert len(model.requests) == 1  # b waits for its approval before its model call
            assert client.post(f"/v1/runs/{run_id}/nodes/b/approve", json={}).status_code == 200
            wait_until(lambda: status_of(client, run_id) == "finished", timeout=30)
            events = events_of(client, run_id)
            frames = client.get(f"/v1/runs/{run_id}/frames").text
    prompts = [r["messages"][-1]["content"] for r in model.requests]
    assert prompts == ["Say a word.", "Say a word.", "Iteration 0.", "Iteration 1."]
    finished = [(e["nodeId"], e["iteration"]) for e in events if e["type"] == "NodeFinished"]
    assert ("a", 0) in finished and ("b", 0) in finished
    assert ("twice", 0) in finished and ("twice", 1) in finished
    assert "openai:m" in frames and KEY not in frames and KEY not in json.dumps(events)
    assert not any(KEY in line for line in server.log)


def test_cancel_during_an_agents_tool_call_stops_within_250_ms(tmp_path: Path) -> None:
    root = _project(tmp_path)
    script = [Call("bash", {"command": "touch started; sleep 60"}), Reply("never")]
    with ScriptedModel(script) as model:
        env = {"MODEL_URL": model.base_url}
        with (
            ServerProcess(root, str(tmp_path / "s.db"), env=env) as server,
            httpx.Client(base_url=server.url, timeout=30) as client,
        ):
            run_id = _start(client, {"input": {"tool": True}})
            wait_until(lambda: (root / "started").exists(), timeout=30)
            ended = threading.Event()

            def follow() -> None:
                events_of(client, run_id)  # the stream closes when the run ends
                ended.set()

            reader = threading.Thread(target=follow, daemon=True)
            reader.start()
            time.sleep(0.3)
            began = time.monotonic()
            began_ms = time.time() * 1000
            assert client.post(f"/v1/runs/{run_id}/cancel").status_code == 200
            assert ended.wait(10)
            elapsed = time.monotonic() - began
            assert status_of(client, run_id) == "cancelled"
            events = events_of(client, run_id)
    finished = [e for e in events if e["type"] == "ToolCallFinished"]
    assert len(finished) == 1 and finished[0]["error"]["code"] == "TOOL_INTERRUPTED"
    # the tool's process group was killed and its end recorded within 250 ms of the request
    assert finished[0]["timestampMs"] - began_ms < 250
    assert elapsed < 0.25 + 0.1  # the client saw the stream end: plus its poll and teardown
    assert len(model.requests) == 1
