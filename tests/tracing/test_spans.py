"""The span tree of docs/observability.md, read from the SDK's in-memory exporter.

Each test serves the real app in-process (Litestar's test client, real SQLite files) with
tracing on through ``tracing.enable`` and checks names, kinds, attributes, status and
parentage of what was exported.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from smithers import tracing
from smithers.agents.testing import Call, Reply, ScriptedModel
from smithers.server.app import create_app
from smithers.server.process.settings import ServerSettings
from smithers.store.store import Store

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.enable(provider)
    try:
        yield exporter
    finally:
        tracing.disable()
        provider.shutdown()


async def _until_status(client: AsyncTestClient[Any], run_id: str, status: str) -> None:
    for _ in range(400):
        if (await client.get(f"/v1/runs/{run_id}")).json()["status"] == status:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"run {run_id} never reached {status}")


def _named(exported: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in exported if s.name == name]


def _one(exported: tuple[ReadableSpan, ...], name: str) -> ReadableSpan:
    found = _named(exported, name)
    assert len(found) == 1, f"{name}: {[s.name for s in exported]}"
    return found[0]


def _hex_trace(span: ReadableSpan) -> str:
    assert span.context is not None
    return format(span.context.trace_id, "032x")


def _parent_of(span: ReadableSpan) -> int | None:
    return None if span.parent is None else span.parent.span_id


def _id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.span_id


def _settings(root: Path, tmp_path: Path) -> ServerSettings:
    return ServerSettings(db=str(tmp_path / "server.db"), root_dir=root, sandbox="none")


async def test_a_start_under_the_callers_trace(
    root: Path, tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    async with AsyncTestClient(create_app(_settings(root, tmp_path))) as client:
        answer = await client.post(
            "/v1/runs",
            json={"workflowPath": "steps.py", "input": {"n": 2}},
            headers={"traceparent": TRACEPARENT},
        )
        run_id = answer.json()["runId"]
        await _until_status(client, run_id, "finished")
    exported = spans.get_finished_spans()
    request = _one(exported, "POST /v1/runs")
    assert request.kind == SpanKind.SERVER
    assert _hex_trace(request) == CALLER_TRACE and _parent_of(request) == int(CALLER_SPAN, 16)
    assert request.attributes is not None
    assert request.attributes["http.request.method"] == "POST"
    assert request.attributes["http.route"] == "/v1/runs"
    assert request.attributes["http.response.status_code"] == answer.status_code
    assert request.attributes["smithers.run_id"] == run_id

    body = _one(exported, "smithers.body.parse")
    assert _parent_of(body) == _id(request)
    assert body.attributes is not None and body.attributes["smithers.body.bytes"] > 0
    load = _one(exported, "smithers.workflow.load")
    assert _parent_of(load) == _id(request)
    assert load.attributes is not None
    assert str(load.attributes["smithers.workflow.path"]).endswith("steps.py")
    assert len(str(load.attributes["smithers.workflow.hash"])) == 64
    assert load.attributes["smithers.workflow.cached"] in (True, False)

    run = _one(exported, "smithers.run")
    assert _hex_trace(run) == CALLER_TRACE, "the run is in the caller's trace"
    assert _parent_of(run) == int(CALLER_SPAN, 16), "under the caller's span, not the request"
    assert [link.context.span_id for link in run.links] == [_id(request)]
    assert run.attributes is not None
    assert run.attributes["smithers.run_id"] == run_id
    assert run.attributes["smithers.workflow.name"] == "steps"
    assert run.attributes["smithers.run.status"] == "finished"

    tasks = _named(exported, "smithers.task")
    assert sorted(str((t.attributes or {})["smithers.node_id"]) for t in tasks) == ["t0", "t1"]
    for task in tasks:
        assert _parent_of(task) == _id(run)
        assert task.attributes is not None
        assert task.attributes["smithers.attempt"] == 1
        assert task.attributes["smithers.iteration"] == 0
        assert task.attributes["smithers.node.state"] == "finished"
        assert task.status.status_code == StatusCode.UNSET
    # the run keeps its trace context with it
    server = Store.open(str(tmp_path / "server.db"))
    try:
        row = await server.reads.get_run(run_id)
        assert row is not None and row.config_json is not None
        kept = json.loads(row.config_json)["traceparent"]
        assert kept.split("-")[1:3] == [CALLER_TRACE, format(_id(run), "016x")]
    finally:
        await server.close()


async def test_an_approval_continues_the_runs_trace(
    root: Path, tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    """Without a caller's trace the run starts its own; the execution the approval wakes is
    under the first run span and linked to the approve request."""
    async with AsyncTestClient(create_app(_settings(root, tmp_path))) as client:
        run_id = (await client.post("/v1/runs", json={"workflowPath": "approve.py"})).json()[
            "runId"
        ]
        await _until_status(client, run_id, "waiting-approval")
        decided = await client.post(f"/v1/runs/{run_id}/nodes/ship/approve", json={"note": "ok"})
        assert decided.status_code == 200
        await _until_status(client, run_id, "finished")
    exported = spans.get_finished_spans()
    start = _one(exported, "POST /v1/runs")
    approve = _one(exported, "POST /v1/runs/{runId}/nodes/{nodeId}/approve")
    assert approve.attributes is not None and approve.attributes["smithers.run_id"] == run_id
    first, second = sorted(_named(exported, "smithers.run"), key=lambda s: s.start_time or 0)
    assert _hex_trace(first) != _hex_trace(start), "linked, not parented, to the request"
    assert first.parent is None and [lk.context.span_id for lk in first.links] == [_id(start)]
    assert (first.attributes or {})["smithers.run.status"] == "waiting-approval"
    assert _hex_trace(second) == _hex_trace(first) and _parent_of(second) == _id(first)
    assert [lk.context.span_id for lk in second.links] == [_id(approve)]
    assert (second.attributes or {})["smithers.run.status"] == "finished"
    by_node = {
        (t.attributes or {})["smithers.node_id"]: t for t in _named(exported, "smithers.task")
    }
    assert _parent_of(by_node["a"]) == _id(first) and _parent_of(by_node["b"]) == _id(second)


async def test_a_failed_attempt_and_its_retry(
    root: Path, tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    async with AsyncTestClient(create_app(_settings(root, tmp_path))) as client:
        run_id = (await client.post("/v1/runs", json={"workflowPath": "flaky.py"})).json()["runId"]
        await _until_status(client, run_id, "waiting-approval")
        failing = (await client.post("/v1/runs", json={"workflowPath": "fail.py"})).json()["runId"]
        await _until_status(client, failing, "failed")
    exported = spans.get_finished_spans()
    attempts = sorted(
        (
            t
            for t in _named(exported, "smithers.task")
            if (t.attributes or {})["smithers.node_id"] == "flaky"
        ),
        key=lambda s: (s.attributes or {})["smithers.attempt"],
    )
    assert [(a.attributes or {})["smithers.node.state"] for a in attempts] == ["failed", "finished"]
    failed, retried = attempts
    assert failed.status.status_code == StatusCode.ERROR
    assert failed.status.description == "RuntimeError: first attempt fails"
    assert [(e.name, dict(e.attributes or {})) for e in failed.events] == [
        (
            "exception",
            {"exception.type": "RuntimeError", "exception.message": "first attempt fails"},
        )
    ]
    assert retried.status.status_code == StatusCode.UNSET
    assert _parent_of(failed) == _parent_of(retried)
    runs = {(s.attributes or {})["smithers.run_id"]: s for s in _named(exported, "smithers.run")}
    assert runs[failing].status.status_code == StatusCode.ERROR
    assert (runs[failing].attributes or {})["smithers.run.status"] == "failed"
    assert "boom" in (runs[failing].status.description or "")


async def test_an_event_stream_is_one_span(
    root: Path, tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    async with AsyncTestClient(create_app(_settings(root, tmp_path))) as client:
        run_id = (
            await client.post("/v1/runs", json={"workflowPath": "steps.py", "input": {"n": 5}})
        ).json()["runId"]
        await _until_status(client, run_id, "finished")
        stream = await client.get(f"/v1/runs/{run_id}/events")
        assert stream.status_code == 200 and stream.text.count("event: ") >= 10
        await client.get("/metrics")
        await client.get("/health")
    exported = spans.get_finished_spans()
    streamed = _one(exported, "GET /v1/runs/{runId}/events")
    assert streamed.kind == SpanKind.SERVER
    assert streamed.attributes is not None and streamed.attributes["smithers.run_id"] == run_id
    assert not [s for s in exported if "metrics" in s.name or "health" in s.name]


async def test_a_resume_by_a_second_server(
    root: Path, tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    """A run interrupted by one server's shutdown and resumed on another continues its trace."""
    settings = _settings(root, tmp_path)
    async with AsyncTestClient(create_app(settings)) as first:
        run_id = (
            await first.post(
                "/v1/runs",
                json={"workflowPath": "slow.py", "input": {"sleep": 0.4, "steps": 2}},
                headers={"traceparent": TRACEPARENT},
            )
        ).json()["runId"]
        await asyncio.sleep(0.1)
    async with AsyncTestClient(create_app(settings)) as second:
        resumed = await second.post(f"/v1/runs/{run_id}/resume", json={})
        assert resumed.status_code == 200, resumed.text
        await _until_status(second, run_id, "finished")
    exported = spans.get_finished_spans()
    first_run, second_run = sorted(
        _named(exported, "smithers.run"), key=lambda s: s.start_time or 0
    )
    assert (first_run.attributes or {})["smithers.run.status"] == "interrupted"
    assert _hex_trace(first_run) == _hex_trace(second_run) == CALLER_TRACE
    assert _parent_of(second_run) == _id(first_run)
    resume = _one(exported, "POST /v1/runs/{runId}/resume")
    assert [lk.context.span_id for lk in second_run.links] == [_id(resume)]
    states = sorted(
        (
            str((t.attributes or {})["smithers.node_id"]),
            str((t.attributes or {})["smithers.node.state"]),
        )
        for t in _named(exported, "smithers.task")
    )
    assert ("s0", "cancelled") in states and ("s1", "finished") in states


AGENT = """
import os
from smithers import Task, workflow
from smithers.agents import OpenAIAgent
from smithers.tools import bash

agent = OpenAIAgent(model="m-1", base_url=os.environ["MODEL_URL"], tools=[bash])

@workflow("agent")
def build(ctx):
    return Task("ask", agent=agent, prompt="List the folder.")
"""


async def test_model_and_tool_calls_under_their_task(
    root: Path, tmp_path: Path, spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    (root / "agent.py").write_text(AGENT)
    script = [Call("bash", {"command": "echo hi"}, input_tokens=21, output_tokens=4), Reply("done")]
    with ScriptedModel(script) as model:
        monkeypatch.setenv("MODEL_URL", model.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key-not-in-spans")
        async with AsyncTestClient(create_app(_settings(root, tmp_path))) as client:
            run_id = (await client.post("/v1/runs", json={"workflowPath": "agent.py"})).json()[
                "runId"
            ]
            await _until_status(client, run_id, "finished")
    exported = spans.get_finished_spans()
    task = _one(exported, "smithers.task")
    chats = sorted(_named(exported, "chat m-1"), key=lambda s: s.start_time or 0)
    assert len(chats) == 2
    for chat in chats:
        assert chat.kind == SpanKind.CLIENT and _parent_of(chat) == _id(task)
        assert chat.attributes is not None
        assert chat.attributes["gen_ai.system"] == "openai"
        assert chat.attributes["gen_ai.request.model"] == "m-1"
        assert chat.attributes["gen_ai.operation.name"] == "chat"
    assert (chats[0].attributes or {})["gen_ai.usage.input_tokens"] == 21
    assert (chats[0].attributes or {})["gen_ai.usage.output_tokens"] == 4
    tool = _one(exported, "smithers.tool bash")
    assert _parent_of(tool) == _id(task)
    assert tool.attributes is not None
    assert tool.attributes["smithers.tool.name"] == "bash"
    assert tool.attributes["smithers.tool.status"] == "ok"
    for span in exported:
        text = json.dumps({**dict(span.attributes or {}), "n": span.name}, default=str)
        assert "sk-test-key" not in text and "List the folder" not in text and "echo hi" not in text
