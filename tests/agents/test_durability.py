"""A SIGKILL of the server mid-conversation: the restarted server continues the agent from
its last committed turn — no completed tool call runs again, no completed model call is
made again."""

from __future__ import annotations

import json
import sqlite3
import textwrap
from pathlib import Path

import httpx

from smithers.agents.testing import Call, Reply, ScriptedModel
from tests.server.process import ServerProcess, events_of, status_of, wait_until

WORKFLOW = """
    import os
    import msgspec
    from smithers import Task, Sequence, workflow
    from smithers.agents import OpenAIAgent
    from smithers.tools import bash

    class Done(msgspec.Struct):
        lines: int

    agent = OpenAIAgent(model="m", base_url=os.environ["MODEL_URL"], tools=[bash])

    @workflow("durable-agent")
    def build(ctx):
        return Sequence(Task("work", agent=agent, prompt="Append a line, then wait.", output=Done))
"""


def test_a_killed_server_continues_the_conversation(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "agent.py").write_text(textwrap.dedent(WORKFLOW))
    script = [
        Call("bash", {"command": "echo line >> out.txt"}),
        Call("bash", {"command": "touch waiting; sleep 60"}),
        Reply('{"lines": 1}'),
    ]
    db = str(tmp_path / "server.db")
    with ScriptedModel(script) as model:
        env = {"MODEL_URL": model.base_url}
        server = ServerProcess(root, db, env=env).start()
        try:
            with httpx.Client(base_url=server.url) as client:
                body = {"workflowPath": "agent.py"}
                run_id = client.post("/v1/runs", json=body).json()["runId"]
            wait_until(lambda: (root / "waiting").exists(), timeout=30)
            wait_until(lambda: _tool_rows(db, run_id)[-1:] == [("bash", "in-progress")])
            server.kill()  # SIGKILL mid-call: the second bash call never finishes
        finally:
            server.kill()
        assert len(model.requests) == 2
        with (
            ServerProcess(root, db, env=env) as again,
            httpx.Client(base_url=again.url) as client,
        ):
            wait_until(lambda: status_of(client, run_id) == "finished", timeout=30)
            events = events_of(client, run_id)
    assert (root / "out.txt").read_text() == "line\n"  # the completed call did not run again
    assert len(model.requests) == 3  # and no completed model call was made again
    last = model.requests[2]["messages"]
    assert [m["role"] for m in last] == ["user", "assistant", "tool", "assistant", "tool"]
    assert "TOOL_INTERRUPTED" in last[-1]["content"]
    assert _tool_rows(db, run_id) == [("bash", "ok"), ("bash", "interrupted")]
    with sqlite3.connect(db) as conn:
        turns = conn.execute(
            "SELECT attempt, turn, role FROM _smithers_transcripts WHERE run_id = ? "
            "ORDER BY attempt, turn",
            (run_id,),
        ).fetchall()
        (output,) = conn.execute("SELECT lines FROM done WHERE run_id = ?", (run_id,)).fetchone()
    assert turns == [
        (1, 1, "assistant"),
        (1, 2, "tool"),
        (1, 3, "assistant"),
        (2, 1, "tool"),
        (2, 2, "assistant"),
    ]
    assert output == 1
    usage = [e["attempt"] for e in events if e["type"] == "TokenUsageReported"]
    assert usage == [1, 1, 2]
    assert json.dumps(events).count('"ToolCallStarted"') == 2


def _tool_rows(db: str, run_id: str) -> list[tuple[str, str]]:
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute(
                "SELECT tool, status FROM _smithers_tool_calls WHERE run_id = ? "
                "ORDER BY started_at_ms, seq",
                (run_id,),
            ).fetchall()
    except sqlite3.OperationalError:
        return []
