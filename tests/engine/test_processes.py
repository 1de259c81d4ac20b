"""Real processes: a SIGKILL mid-run, a cancel from another process, a race to claim a run."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from smithers.engine.ids import new_run_id
from tests.helpers import Harness, assert_dense

ROOT = Path(__file__).resolve().parents[2]

APPENDING = """
import time
from pathlib import Path
from smithers import workflow, Task, Sequence

LOG = Path({log!r})

def step(t):
    time.sleep({sleep})
    with LOG.open("a") as f:
        f.write(t.node_id + "\\n")
    return t.node_id

@workflow("appending")
def build(ctx):
    return Sequence(*[Task(f"step{{i:02d}}", step) for i in range({count})])
"""


def _worker(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.engine.worker", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_lines(path: Path, n: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not (path.exists() and len(path.read_text().splitlines()) >= n):
        assert time.monotonic() < deadline, "the worker made no progress"
        time.sleep(0.01)


async def test_sigkill_mid_run_then_another_process_resumes(db_url: str, tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    workflow = tmp_path / "appending.py"
    workflow.write_text(APPENDING.format(log=str(log), sleep=0.05, count=20))
    run_id = new_run_id()
    proc = _worker("start", db_url, str(workflow), run_id)
    try:
        _wait_for_lines(log, 6)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    lines_at_kill = log.read_text().splitlines()
    async with Harness(db_url) as h:
        before = await h.events(run_id)
        committed_before = {e["nodeId"] for e in before if e["type"] == "NodeFinished"}
        assert 5 <= len(committed_before) < 20
        assert await h.status(run_id) == "running"  # the dead owner never wrote an end
        # The dead process was on this host: its runs are claimable at once, not after 15 s.
    async with Harness(db_url, auto_wake=True, recovery_interval=0.05) as h:
        deadline = time.monotonic() + 30
        while await h.status(run_id) != "finished":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        events = await h.events(run_id)
    assert_dense(events)
    counts = Counter(log.read_text().splitlines())
    assert set(counts) == {f"step{i:02d}" for i in range(20)}
    for node_id in committed_before:
        assert counts[node_id] == 1, f"{node_id} was finished before the kill but ran again"
    # only the attempt in flight at the kill may have appended before its end was committed
    repeated = [n for n, c in counts.items() if c > 1]
    assert len(repeated) <= 1 and all(n not in committed_before for n in repeated)
    assert len(lines_at_kill) >= len(committed_before)
    finished = Counter(e["nodeId"] for e in events if e["type"] == "NodeFinished")
    assert all(c == 1 for c in finished.values()) and len(finished) == 20
    interrupted = [e for e in events if e["type"] == "NodeCancelled"]
    assert all(e["reason"] == "interrupted" for e in interrupted) and len(interrupted) <= 1
    assert [e["type"] for e in events].count("RunStarted") == 2


async def test_cancel_from_another_process(sqlite_url: str, tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    workflow = tmp_path / "appending.py"
    workflow.write_text(APPENDING.format(log=str(log), sleep=0.2, count=50))
    run_id = new_run_id()
    proc = _worker("start", sqlite_url, str(workflow), run_id)
    try:
        _wait_for_lines(log, 1)
        async with Harness(sqlite_url) as h:
            started = time.monotonic()
            await h.scheduler.cancel_run(h.store, run_id)
            out, _ = proc.communicate(timeout=10)
            elapsed = time.monotonic() - started
            assert out.splitlines()[-1] == "cancelled"
            assert await h.status(run_id) == "cancelled"
            assert elapsed < 1.0  # the owner polls for cancel requests every 250 ms
            attempts = await h.store.reads.list_attempts(run_id)
            assert "in-progress" not in {a.state for a in attempts}
    finally:
        if proc.poll() is None:
            proc.kill()


async def test_two_processes_race_to_claim_a_stale_run(db_url: str, tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    workflow = tmp_path / "appending.py"
    workflow.write_text(APPENDING.format(log=str(log), sleep=0.05, count=20))
    run_id = new_run_id()
    proc = _worker("start", db_url, str(workflow), run_id)
    try:
        _wait_for_lines(log, 3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    # Make the dead owner look like a process on another host whose heartbeat is 60 s old.
    from smithers.store.batch import Batch
    from smithers.store.rows import RunUpdate

    async with Harness(db_url) as h:
        stale = int(time.time() * 1000) - 60_000
        orphaned = RunUpdate(
            run_id=run_id, runtime_owner_id="elsewhere:1:dead", heartbeat_at_ms=stale
        )
        await h.store.commit(run_id, Batch(rows=[orphaned]))
    at = time.time() + 1.5
    procs = [_worker("claim", db_url, run_id, str(at)) for _ in range(2)]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        outputs.append(out.splitlines())
    assert sorted(o[0] for o in outputs) == ["lost", "won"], outputs
    winner = next(o for o in outputs if o[0] == "won")
    assert winner[1] == "finished"
    async with Harness(db_url) as h:
        events = await h.events(run_id)
        assert_dense(events)
        assert [e["type"] for e in events].count("RunStarted") == 2
    counts = Counter(log.read_text().splitlines())
    assert set(counts) == {f"step{i:02d}" for i in range(20)}
    assert sum(counts.values()) <= 21
