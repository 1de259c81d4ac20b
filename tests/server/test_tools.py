"""Task code calls the built-in tools (``t.tools``) on a real server: confined to the server's
root, and reaching the network only for runs started with ``--allow-network``, a setting each
run keeps (a run continued by another server keeps it)."""

from __future__ import annotations

import json
import sqlite3
import textwrap
from pathlib import Path

import httpx
import pytest

from tests.conftest import PG_AVAILABLE
from tests.server.process import ServerProcess, events_of, status_of, wait_until

TOOLS_WORKFLOW = """
    from smithers import workflow, Task, Sequence, Approval

    PROBE = (
        "python3 -c 'import socket; s = socket.socket(); s.settimeout(2); "
        "s.connect((\\"127.0.0.1\\", 5432)); print(\\"CONNECTED\\")'"
    )

    async def use_tools(t):
        written = await t.tools.write("made/by-task.txt", "hello")
        listed = await t.tools.bash("cat made/by-task.txt; echo; ls")
        probe = await t.tools.bash(PROBE, timeout=10)
        return {"sha": written.sha256, "listed": listed.output, "net": probe.exit_code == 0}

    async def escape(t):
        await t.tools.read("../outside.txt")

    @workflow("tools")
    def build(ctx):
        steps = [Task("use", use_tools)]
        if ctx.input.get("gate"):
            steps.insert(0, Approval("gate", title="Go?"))
        if ctx.input.get("escape"):
            steps.append(Task("escape", escape))
        return Sequence(*steps)
"""


@pytest.fixture
def tools_root(root: Path) -> Path:
    (root / "tools.py").write_text(textwrap.dedent(TOOLS_WORKFLOW))
    (root.parent / "outside.txt").write_text("not for the task")
    return root


def _run(client: httpx.Client, body: dict) -> str:  # type: ignore[type-arg]
    response = client.post("/v1/runs", json={"workflowPath": "tools.py", **body})
    assert response.status_code == 200, response.text
    return str(response.json()["runId"])


def test_tools_work_in_the_root_and_refuse_to_leave_it(tools_root: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "server.db")
    with ServerProcess(tools_root, db) as server, httpx.Client(base_url=server.url) as client:
        run_id = _run(client, {"input": {"escape": True}})
        wait_until(lambda: status_of(client, run_id) == "failed", timeout=30)
        failed = client.get(f"/v1/runs/{run_id}").json()
        assert failed["summary"] == {"finished": 1, "failed": 1}
    assert (tools_root / "made" / "by-task.txt").read_text() == "hello"
    with ServerProcess(tools_root, db) as server, httpx.Client(base_url=server.url) as client:
        events = events_of(client, run_id)
    errors = [e["error"] for e in events if e["type"] == "NodeFailed"]
    assert errors and errors[0]["code"] == "PATH_OUTSIDE_ROOT"
    assert "not for the task" not in str(events)


@pytest.mark.skipif(not PG_AVAILABLE, reason="no PostgreSQL on 127.0.0.1:5432 to reach")
def test_allow_network_is_kept_by_each_run(tools_root: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "server.db")
    with (
        ServerProcess(tools_root, db, extra=("--allow-network",)) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        online = _run(client, {})
        waiting = _run(client, {"input": {"gate": True}})  # started here, continued elsewhere
        wait_until(lambda: status_of(client, online) == "finished", timeout=30)
        wait_until(lambda: status_of(client, waiting) == "waiting-approval", timeout=30)
    with ServerProcess(tools_root, db) as server, httpx.Client(base_url=server.url) as client:
        offline = _run(client, {})
        assert client.post(f"/v1/runs/{waiting}/nodes/gate/approve", json={}).status_code == 200
        for run_id in (offline, waiting):
            wait_until(lambda r=run_id: status_of(client, r) == "finished", timeout=30)
        reached = {run_id: _net_of(tools_root, db, run_id) for run_id in (online, offline, waiting)}
    assert reached == {online: True, offline: False, waiting: True}


def _net_of(root: Path, db: str, run_id: str) -> bool:
    with sqlite3.connect(db) as conn:
        (value,) = conn.execute(
            "SELECT payload_json FROM _smithers_outputs WHERE run_id = ? AND node_id = 'use'",
            (run_id,),
        ).fetchone()
    output = json.loads(value)
    assert "hello" in output["listed"] and "made" in output["listed"]
    return bool(output["net"])


def test_tool_calls_reach_sse_and_metrics(tools_root: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "server.db")
    with ServerProcess(tools_root, db) as server, httpx.Client(base_url=server.url) as client:
        run_id = _run(client, {})
        events = events_of(client, run_id)  # the stream ends with the run
        metrics = client.get("/metrics").text
        health = client.get("/health").json()
    assert events[-1]["type"] == "RunFinished"
    calls = [e for e in events if e["type"].startswith("ToolCall")]
    assert [(e["type"], e["tool"]) for e in calls] == [
        (kind, tool)
        for tool in ("write", "bash", "bash")
        for kind in ("ToolCallStarted", "ToolCallFinished")
    ]
    assert calls[0]["input"] == {"path": "made/by-task.txt", "content": "hello"}
    assert all(e["status"] == "ok" for e in calls if e["type"] == "ToolCallFinished")
    assert 'smithers_tool_calls_total{status="ok",tool="bash"} 2.0' in metrics
    assert 'smithers_tool_duration_ms_count{tool="write"} 1.0' in metrics
    assert health == {"ok": True}
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT tool, status FROM _smithers_tool_calls WHERE run_id = ? ORDER BY started_at_ms, seq",
            (run_id,),
        ).fetchall()
    assert rows == [("write", "ok"), ("bash", "ok"), ("bash", "ok")]


def test_sandbox_none_is_explicit_and_shown(tools_root: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "server.db")
    with (
        ServerProcess(tools_root, db, extra=("--sandbox=none",)) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        assert client.get("/health").json() == {"ok": True, "sandbox": "none"}
        run_id = _run(client, {})
        wait_until(lambda: status_of(client, run_id) == "finished", timeout=30)
    assert any("UNCONFINED" in line for line in server.log)
    with sqlite3.connect(db) as conn:
        (value,) = conn.execute(
            "SELECT payload_json FROM _smithers_outputs WHERE run_id = ? AND node_id = 'use'",
            (run_id,),
        ).fetchone()
    # unconfined, bash runs on the host's network namespace: PostgreSQL answers when present
    assert json.loads(value)["net"] is PG_AVAILABLE
