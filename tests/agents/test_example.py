"""``examples/triage.py`` runs unchanged against the scripted model, through a real server."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import httpx

from smithers.agents.testing import Call, Reply, ScriptedModel
from tests.server.process import ServerProcess, events_of, status_of, wait_until

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "triage.py"


def test_the_triage_example_through_a_real_server(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(EXAMPLE, root / "triage.py")
    (root / "notes.md").write_text("save() writes to a closed file handle\n")
    answer = '{"severity": "high", "area": "storage", "summary": "closed handle on save"}'
    reply = "Thanks: the save crash is a high-severity storage bug and is being fixed."
    script = [Call("grep", {"pattern": "save"}), Reply(answer, chunks=4), Reply(reply)]
    with ScriptedModel(script) as model:
        env = {"SMITHERS_MODEL_URL": model.base_url, "SMITHERS_MODEL": "scripted"}
        db = str(tmp_path / "server.db")
        with (
            ServerProcess(root, db, env=env) as server,
            httpx.Client(base_url=server.url) as client,
        ):
            body = {"workflowPath": "triage.py", "input": {"report": "crash on save"}}
            run_id = client.post("/v1/runs", json=body).json()["runId"]
            wait_until(lambda: status_of(client, run_id) == "waiting-approval", timeout=30)
            assert (
                client.post(f"/v1/runs/{run_id}/nodes/confirm/approve", json={}).status_code == 200
            )
            events = events_of(client, run_id)
            metrics = client.get("/metrics").text
    assert events[-1]["type"] == "RunFinished"
    grep_call = next(e for e in events if e["type"] == "ToolCallFinished")
    assert grep_call["tool"] == "grep" and grep_call["status"] == "ok"
    assert "closed file handle" in model.requests[1]["messages"][-1]["content"]
    # the second agent task's prompt was rendered from the first one's structured output
    second_prompt = model.requests[2]["messages"][-1]["content"]
    assert "a high storage issue: closed handle on save" in second_prompt
    agent_text = "".join(e["text"] for e in events if e["type"] == "NodeOutput")
    assert agent_text == answer + reply
    assert sum(1 for e in events if e["type"] == "TokenUsageReported") == 3
    assert 'smithers_tokens_output_total{agent="openai",model="scripted"} 15.0' in metrics
    assert 'smithers_agent_calls_total{agent="openai",model="scripted",status="ok"} 3.0' in metrics
    with sqlite3.connect(db) as conn:
        (stored,) = conn.execute(
            "SELECT severity FROM triage WHERE run_id = ?", (run_id,)
        ).fetchone()
    assert stored == "high"
