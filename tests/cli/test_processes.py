"""Several ``smithers`` processes on one database: cancel, refused resume, followed events."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest

from smithers.cli.main import run
from tests.cli.helpers import finish, smithers, start, wait_until


def _log_lines(project: Path) -> int:
    log = project / "slow.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_cancel_from_a_second_process_ends_up_with_exit_2(project: Path) -> None:
    up = start("up", "slow.py", "-r", "long", cwd=project)
    try:
        wait_until(lambda: _log_lines(project) >= 1, what="the first step")

        listed = smithers("ps", "--status", "running", cwd=project)
        assert listed.code == 0
        (run,) = listed.json()["runs"]
        assert run["runId"] == "long" and run["workflowName"] == "slow"
        assert run["step"].startswith("step")

        taken = smithers("resume", "long", cwd=project)
        assert taken.code == 4
        assert "RUN_IN_PROGRESS" in taken.stderr and "--force" in taken.stderr

        cancelled = smithers("cancel", "long", cwd=project)
        assert cancelled.code == 0, cancelled.stderr
        assert cancelled.json() == {"runId": "long", "status": "cancelled"}
        ended = finish(up, timeout=20)
    finally:
        if up.poll() is None:
            up.kill()
            up.communicate()
    assert ended.code == 2, ended.stderr
    assert ended.json()["status"] == "cancelled"
    assert ended.stderr.splitlines()[-1].endswith("⊘ Run cancelled")
    assert _log_lines(project) < 120

    again = smithers("cancel", "long", cwd=project)
    assert again.code == 4 and "RUN_NOT_ACTIVE" in again.stderr


def test_ctrl_c_cancels_the_run_cleanly_and_exits_130(project: Path) -> None:
    up = start("up", "slow.py", "-r", "interrupted", cwd=project)
    try:
        wait_until(lambda: _log_lines(project) >= 1, what="the first step")
        up.send_signal(signal.SIGINT)
        ended = finish(up, timeout=20)
    finally:
        if up.poll() is None:
            up.kill()
            up.communicate()
    assert ended.code == 130, ended.stderr
    assert ended.json()["status"] == "cancelled"
    assert "cancelling the run" in ended.stderr
    inspected = smithers("inspect", "interrupted", cwd=project).json()
    assert inspected["run"]["status"] == "cancelled"
    assert "in-progress" not in {n["state"] for n in inspected["nodes"]}


def _wait_for_status(project: Path, run_id: str, status: str) -> dict[str, Any]:
    """Poll ``inspect`` until the run has ``status``; that inspection."""
    seen: list[dict[str, Any]] = []

    def reached() -> bool:
        shown = smithers("inspect", run_id, cwd=project)
        if shown.code == 0 and shown.json()["run"]["status"] == status:
            seen.append(shown.json())
        return bool(seen)

    wait_until(reached, what=f"{run_id} to be {status}")
    return seen[0]


def test_up_waits_through_a_due_timer_instead_of_exiting_3(project: Path) -> None:
    result = smithers("up", "pause.py", "-r", "timed", "-i", '{"seconds": 1}', cwd=project)
    assert result.code == 0, result.stderr  # `up` owns the run: it waits for the timer itself
    assert result.json() == {"runId": "timed", "status": "finished", "output": 2}
    texts = [line.split("] ", 1)[1] for line in result.stderr.splitlines()]
    assert any(text.startswith("⏲ pause waiting until") for text in texts)
    assert texts[-1] == "✓ Run finished"


def test_sigterm_while_waiting_for_a_timer_cancels_and_exits_143(project: Path) -> None:
    up = start("up", "pause.py", "-r", "timed-2", "-i", '{"seconds": 600}', cwd=project)
    try:
        timers = _wait_for_status(project, "timed-2", "waiting-timer")["timers"]
        assert [t["nodeId"] for t in timers] == ["pause"]
        assert 500_000 < timers[0]["remainingMs"] <= 600_000
        up.send_signal(signal.SIGTERM)  # no task runs: the suspended run is cancelled directly
        ended = finish(up, timeout=20)
    finally:
        if up.poll() is None:
            up.kill()
            up.communicate()
    assert ended.code == 143, ended.stderr
    assert ended.json()["status"] == "cancelled"
    assert ended.stderr.splitlines()[-1].endswith("⊘ Run cancelled")


def test_events_follow_streams_a_run_another_process_executes(project: Path) -> None:
    suspended = smithers("up", "approval.py", "-r", "followed", cwd=project)
    assert suspended.code == 3
    follower = start("events", "followed", "--follow", "--json", cwd=project)
    try:
        time.sleep(2.5)
        assert follower.poll() is None, "--follow stopped before the run ended"
        assert smithers("approve", "followed", cwd=project).code == 0
        resumed = smithers("resume", "followed", cwd=project)
        assert resumed.code == 0, resumed.stderr
        followed = finish(follower, timeout=20)
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.communicate()
    assert followed.code == 0, followed.stderr
    events = followed.json_lines()
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert events[-1]["type"] == "RunFinished"
    assert {"ApprovalRequested", "ApprovalGranted", "NodeFinished"} <= {e["type"] for e in events}
    assert all(e["runId"] == "followed" for e in events)


def test_unknown_runs_are_bad_input(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert smithers("up", "steps.py", cwd=project).code == 0  # a database to look in
    real = smithers("inspect", "ghost", cwd=project)
    assert real.code == 4 and "RUN_NOT_FOUND: run ghost" in real.stderr
    monkeypatch.chdir(project)  # the other commands, in this process
    for args in (
        ["events", "ghost"],
        ["approve", "ghost"],
        ["deny", "ghost", "--node", "x"],
        ["signal", "ghost", "go"],
        ["cancel", "ghost"],
        ["resume", "ghost"],
    ):
        assert run(args) == 4, args
        err = capsys.readouterr().err
        assert "RUN_NOT_FOUND: run ghost" in err and "smithers ps" in err, (args, err)


def test_read_commands_find_the_nearest_database_upwards(project: Path) -> None:
    assert smithers("up", "steps.py", "-r", "found", cwd=project).code == 0
    nested = project / "a" / "b"
    nested.mkdir(parents=True)
    listed = smithers("ps", cwd=nested)
    assert listed.code == 0 and [r["runId"] for r in listed.json()["runs"]] == ["found"]
    elsewhere = smithers("ps", cwd=Path("/"), timeout=30)
    if not (Path("/") / "smithers.db").exists():
        assert elsewhere.code == 4 and "--db" in elsewhere.stderr
    missing = smithers("ps", "--db", str(project / "nope.db"), cwd=project)
    assert missing.code == 4 and "no database at" in missing.stderr
    assert not (project / "nope.db").exists()
