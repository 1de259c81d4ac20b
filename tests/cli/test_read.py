"""``ps``, ``inspect`` and ``events``: their JSON shapes, filters and readable forms."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.helpers import smithers, write_project

RUN_FIELDS = {
    "runId",
    "workflowName",
    "status",
    "createdAtMs",
    "startedAtMs",
    "finishedAtMs",
    "heartbeatAtMs",
    "summary",
    "error",
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One finished, one failed and one suspended run in one database (the tests only read)."""
    project = write_project(tmp_path_factory.mktemp("runs"))
    assert smithers("up", "steps.py", "-r", "r-finished", cwd=project).code == 0
    assert smithers("up", "failing.py", "-r", "r-failed", cwd=project).code == 1
    assert smithers("up", "approval.py", "-r", "r-waiting", cwd=project).code == 3
    return project


def test_ps_lists_newest_first_with_the_current_step(runs: Path) -> None:
    listed = smithers("ps", "--json", cwd=runs)
    assert listed.code == 0
    rows = listed.json()["runs"]
    assert [r["runId"] for r in rows] == ["r-waiting", "r-failed", "r-finished"]
    assert set(rows[0]) == {
        "runId",
        "workflowName",
        "status",
        "step",
        "createdAtMs",
        "startedAtMs",
        "finishedAtMs",
    }
    by_id = {r["runId"]: r for r in rows}
    assert by_id["r-waiting"]["step"] == "ship" and by_id["r-waiting"]["finishedAtMs"] is None
    assert by_id["r-failed"]["step"] == "boom" and by_id["r-failed"]["status"] == "failed"
    assert by_id["r-finished"]["step"] == "greet"
    assert by_id["r-finished"]["finishedAtMs"] >= by_id["r-finished"]["startedAtMs"]

    failed = smithers("ps", "--status", "failed", cwd=runs).json()["runs"]
    assert [r["runId"] for r in failed] == ["r-failed"]
    assert len(smithers("ps", "--limit", "1", cwd=runs).json()["runs"]) == 1
    bad_status = smithers("ps", "--status", "sleeping", cwd=runs)
    assert bad_status.code == 4 and "waiting-approval" in bad_status.stderr
    assert smithers("ps", "--limit", "0", cwd=runs).code == 4


def test_inspect_shows_the_run_nodes_and_pending_approvals(runs: Path) -> None:
    waiting = smithers("inspect", "r-waiting", "--json", cwd=runs)
    assert waiting.code == 0
    body = waiting.json()
    assert {"run", "nodes", "approvals", "timers"} <= set(body)
    assert set(body["run"]) == RUN_FIELDS
    assert body["run"]["status"] == "waiting-approval"
    assert body["run"]["summary"] == {"finished": 1, "waiting-approval": 1}
    assert body["nodes"] == [
        {"nodeId": "analyze", "iteration": 0, "state": "finished", "attempt": 1, "label": None},
        {
            "nodeId": "ship",
            "iteration": 0,
            "state": "waiting-approval",
            "attempt": None,
            "label": None,
        },
    ]
    (approval,) = body["approvals"]
    assert approval["nodeId"] == "ship" and approval["title"] == "Ship it?"
    assert approval["waitingMs"] >= 0
    assert body["timers"] == []

    failed = smithers("inspect", "r-failed", cwd=runs).json()
    assert failed["run"]["error"] == "Task(s) failed: boom"
    boom = next(n for n in failed["nodes"] if n["nodeId"] == "boom")
    assert boom == {
        "nodeId": "boom",
        "iteration": 0,
        "state": "failed",
        "attempt": 2,
        "label": None,
    }


def test_events_prints_stored_events_with_their_seq(runs: Path) -> None:
    everything = smithers("events", "r-finished", "--json", cwd=runs)
    assert everything.code == 0
    events = everything.json_lines()
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert events[0]["type"] == "RunStarted" and events[-1]["type"] == "RunFinished"
    assert all({"type", "runId", "timestampMs", "seq"} <= set(e) for e in events)

    after = smithers("events", "r-finished", "--after-seq", "3", cwd=runs).json_lines()
    assert [e["seq"] for e in after] == list(range(4, len(events)))

    run_events = smithers("events", "r-finished", "--type", "run", cwd=runs).json_lines()
    assert [e["type"] for e in run_events] == ["RunStarted", "RunFinished"]
    greet = smithers(
        "events", "r-finished", "--node", "greet", "--type", "NodeStarted,nodefinished", cwd=runs
    )
    assert [(e["type"], e["nodeId"]) for e in greet.json_lines()] == [
        ("NodeStarted", "greet"),
        ("NodeFinished", "greet"),
    ]
    bad_type = smithers("events", "r-finished", "--type", "Nope", cwd=runs)
    assert bad_type.code == 4 and "NodeFinished" in bad_type.stderr
