"""Suspended runs from the command line: approve, deny, signal, then resume in the foreground."""

from __future__ import annotations

from pathlib import Path

from tests.cli.helpers import smithers


def test_suspend_at_approval_then_approve_and_resume(project: Path) -> None:
    up = smithers("up", "approval.py", "-r", "ship-1", cwd=project)
    assert up.code == 3
    assert up.json() == {
        "runId": "ship-1",
        "status": "waiting-approval",
        "output": {"severity": "low"},
    }
    assert "run `smithers approve ship-1 --node ship`" in up.stderr
    assert "`smithers resume ship-1`" in up.stderr

    waiting = smithers("inspect", "ship-1", cwd=project).json()
    assert waiting["run"]["status"] == "waiting-approval"
    assert [(a["nodeId"], a["title"]) for a in waiting["approvals"]] == [("ship", "Ship it?")]

    approved = smithers("approve", "ship-1", "--note", "looks fine", "--by", "ada", cwd=project)
    assert approved.code == 0, approved.stderr
    assert approved.json() == {
        "runId": "ship-1",
        "nodeId": "ship",
        "iteration": 0,
        "status": "approved",
    }
    assert "smithers resume ship-1" in approved.stderr  # woken, waiting for someone to continue it

    resumed = smithers("resume", "ship-1", cwd=project)
    assert resumed.code == 0, resumed.stderr
    assert resumed.json() == {"runId": "ship-1", "status": "finished", "output": {"applied": True}}
    lines = [line.split("] ", 1)[1] for line in resumed.stderr.splitlines()]
    assert lines[0] == "→ ship (attempt 1)"  # only the events after the resume are shown
    assert lines[-1] == "✓ Run finished"

    again = smithers("approve", "ship-1", "--node", "ship", cwd=project)
    assert again.code == 0  # the same decision again is harmless
    denied_late = smithers("deny", "ship-1", "--node", "ship", cwd=project)
    assert denied_late.code == 4 and "APPROVAL_NOT_PENDING" in denied_late.stderr

    events = smithers("events", "ship-1", "--json", cwd=project).json_lines()
    finished_again = smithers("resume", "ship-1", cwd=project)  # a finished run is final
    assert finished_again.code == 0, finished_again.stderr
    assert finished_again.json() == resumed.json()
    assert smithers("events", "ship-1", "--json", cwd=project).json_lines() == events


def test_several_pending_approvals_need_a_node_and_a_deny_fails_the_run(project: Path) -> None:
    up = smithers("up", "two_approvals.py", "-r", "two", cwd=project)
    assert up.code == 3
    assert "'legal', 'security'" in up.stderr

    ambiguous = smithers("approve", "two", cwd=project)
    assert ambiguous.code == 4
    assert "AMBIGUOUS_APPROVAL" in ambiguous.stderr
    assert "smithers approve two --node legal" in ambiguous.stderr
    assert "smithers approve two --node security" in ambiguous.stderr

    first = smithers("approve", "two", "--node", "legal", cwd=project)
    assert first.code == 0
    assert "still waits for approval of 'security'" in first.stderr
    denied = smithers("deny", "two", "--json", cwd=project)  # only `security` is left
    assert denied.code == 0, denied.stderr
    assert denied.json()["nodeId"] == "security" and denied.json()["status"] == "denied"

    none_left = smithers("approve", "two", cwd=project)
    assert none_left.code == 4 and "NO_PENDING_APPROVALS" in none_left.stderr

    resumed = smithers("resume", "two", cwd=project)
    assert resumed.code == 1
    assert resumed.json()["status"] == "failed"
    assert "security" in str(resumed.json()["error"])


def test_suspend_at_signal_then_signal_and_resume(project: Path) -> None:
    up = smithers("up", "deploy_signal.py", "-r", "sig-1", cwd=project)
    assert up.code == 3
    assert up.json()["status"] == "waiting-event"
    assert "smithers signal sig-1 deploy" in up.stderr

    bad = smithers("signal", "sig-1", "deploy", "--data", "{oops", cwd=project)
    assert bad.code == 4 and "--data is not valid JSON" in bad.stderr

    unheard = smithers("signal", "sig-1", "other", cwd=project)
    assert unheard.code == 0 and unheard.json()["delivered"] is False
    assert "No node of run sig-1 waits for signal 'other'" in unheard.stderr

    sent = smithers(
        "signal", "sig-1", "deploy", "--data", '{"version": 7}', "--by", "ci", cwd=project
    )
    assert sent.code == 0, sent.stderr
    body = sent.json()
    assert body["delivered"] is True and body["signalName"] == "deploy" and body["seq"] == 1

    resumed = smithers("resume", "sig-1", "--json", cwd=project)
    assert resumed.code == 0, resumed.stderr
    assert resumed.json()["output"] == {"got": {"version": 7}}


def test_the_same_flow_on_postgresql(project: Path, pg_url: str) -> None:
    up = smithers("up", "approval.py", "-r", "pg-1", "--db", pg_url, cwd=project)
    assert up.code == 3, up.stderr
    assert smithers("approve", "pg-1", "--db", pg_url, cwd=project).code == 0
    resumed = smithers("resume", "pg-1", "--db", pg_url, cwd=project)
    assert resumed.code == 0, resumed.stderr
    assert resumed.json()["output"] == {"applied": True}
    listed = smithers("ps", "--db", pg_url, cwd=project).json()["runs"]
    assert [(r["runId"], r["status"], r["step"]) for r in listed] == [("pg-1", "finished", "apply")]
    assert not (project / "smithers.db").exists()
