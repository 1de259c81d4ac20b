"""``GET /v1/runs/{runId}/nodes`` with typed outputs (decoded as the workflow's Struct decodes
them, from what the run stored when it started or was continued: whatever became of the file
since), and the input and transcript of an agent run."""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from smithers.agents.testing import Call, Reply, ScriptedModel
from smithers.server.app import create_app
from smithers.server.process.settings import ServerSettings

TYPED = """
import msgspec
from smithers import Task, workflow

class Verdict(msgspec.Struct):
    ok: bool
    tags: list[str]
    score: float

@workflow("typed")
def build(ctx):
    return Task("judge", lambda: Verdict(ok=True, tags=["a", "b"], score=0.5), output=Verdict)
"""


async def test_typed_outputs_decoded_as_the_run_stored_them(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "typed.py").write_text(textwrap.dedent(TYPED))
    settings = ServerSettings(db=str(tmp_path / "s.db"), root_dir=root, sandbox="none")
    async with AsyncTestClient(create_app(settings)) as client:
        run_id = (await client.post("/v1/runs", json={"workflowPath": "typed.py"})).json()["runId"]
        await _finished(client, run_id)
        [node] = (await client.get(f"/v1/runs/{run_id}/nodes")).json()
        assert node["output"] == {"ok": True, "tags": ["a", "b"], "score": 0.5}
        (root / "typed.py").write_text("raise SystemExit('gone')\n")
        [node] = (await client.get(f"/v1/runs/{run_id}/nodes")).json()
        assert node["output"] == {"ok": True, "tags": ["a", "b"], "score": 0.5}
        (root / "typed.py").unlink()
        [node] = (await client.get(f"/v1/runs/{run_id}/nodes")).json()
        assert node["output"] == {"ok": True, "tags": ["a", "b"], "score": 0.5}


GATED = """
import msgspec
from smithers import Approval, Sequence, Task, workflow

class Verdict(msgspec.Struct):
    ok: bool

@workflow("gated")
def build(ctx):
    return Sequence(
        Task("judge", lambda: Verdict(ok=True), output=Verdict), Approval("gate", title="Go?")
    )
"""

GATED_V2 = """
import msgspec
from smithers import Approval, Sequence, Task, workflow

class Verdict(msgspec.Struct):
    ok: bool

class Shipped(msgspec.Struct):
    shipped: bool
    where: list[str]

@workflow("gated")
def build(ctx):
    return Sequence(
        Task("judge", lambda: Verdict(ok=True), output=Verdict),
        Approval("gate", title="Go?"),
        Task("ship", lambda: Shipped(shipped=True, where=["eu"]), output=Shipped),
    )
"""


async def test_a_continued_run_stores_the_output_types_it_continues_with(tmp_path: Path) -> None:
    """The workflow was edited while the run waited: the run continues with the new file
    (a new output type), and reads decode that type's rows as well."""
    root = tmp_path / "root"
    root.mkdir()
    (root / "gated.py").write_text(textwrap.dedent(GATED))
    settings = ServerSettings(db=str(tmp_path / "s.db"), root_dir=root, sandbox="none")
    async with AsyncTestClient(create_app(settings)) as client:
        run_id = (await client.post("/v1/runs", json={"workflowPath": "gated.py"})).json()["runId"]
        await _finished(client, run_id, "waiting-approval")
        (root / "gated.py").write_text(textwrap.dedent(GATED_V2))
        approved = await client.post(f"/v1/runs/{run_id}/nodes/gate/approve", json={})
        assert approved.status_code == 200
        await _finished(client, run_id)
        (root / "gated.py").write_text("raise SystemExit('gone')\n")
        nodes = (await client.get(f"/v1/runs/{run_id}/nodes")).json()
    outputs = {n["nodeId"]: n["output"] for n in nodes}
    assert outputs["judge"] == {"ok": True}
    assert outputs["ship"] == {"shipped": True, "where": ["eu"]}


AGENT = """
import os
from smithers import Task, workflow
from smithers.agents import OpenAIAgent
from smithers.tools import ToolContext, tool

@tool
async def lookup(t: ToolContext, city: str) -> str:
    \"\"\"The weather.\"\"\"
    return f"sunny in {city}"

agent = OpenAIAgent(model="m-2", base_url=os.environ["MODEL_URL"], tools=[lookup])

@workflow("agent")
def build(ctx):
    return Task("ask", agent=agent, prompt="Weather in Lyon?")
"""


async def test_the_transcript_and_input_of_an_agent_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "agent.py").write_text(textwrap.dedent(AGENT))
    script = [Call("lookup", {"city": "Lyon"}, input_tokens=12, output_tokens=3), Reply("Sunny.")]
    settings = ServerSettings(db=str(tmp_path / "s.db"), root_dir=root, sandbox="none")
    with ScriptedModel(script) as model:
        monkeypatch.setenv("MODEL_URL", model.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        async with AsyncTestClient(create_app(settings)) as client:
            body = {"workflowPath": "agent.py", "input": {"who": "ann"}}
            run_id = (await client.post("/v1/runs", json=body)).json()["runId"]
            await _finished(client, run_id)
            turns = (await client.get(f"/v1/runs/{run_id}/transcript")).json()
            given = (await client.get(f"/v1/runs/{run_id}/input")).json()
    assert given == {"runId": run_id, "input": {"who": "ann"}}
    assert [(t["nodeId"], t["attempt"], t["role"]) for t in turns] == [
        ("ask", 1, "assistant"),
        ("ask", 1, "tool"),
        ("ask", 1, "assistant"),
    ]
    assert [t["turn"] for t in turns] == sorted(t["turn"] for t in turns)
    first, answered, final = turns
    assert first["usage"]["input_tokens"] == 12 and first["usage"]["output_tokens"] == 3
    assert "lookup" in json.dumps(first["content"])
    assert answered["usage"] is None and "sunny in Lyon" in json.dumps(answered["content"])
    assert "Sunny." in json.dumps(final["content"])


async def _finished(  # type: ignore[type-arg]
    client: AsyncTestClient, run_id: str, status: str = "finished"
) -> None:
    for _ in range(250):
        if (await client.get(f"/v1/runs/{run_id}")).json()["status"] == status:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"run {run_id} did not reach {status}")
