"""Runs over real HTTP against a real server process."""

from __future__ import annotations

import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from httpx_sse import connect_sse

from tests.server.process import (
    ServerProcess,
    assert_finished_after_one_interruption,
    events_of,
    start_slow_runs,
    status_of,
    wait_until,
)


@pytest.fixture
def server(root: Path, tmp_path: Path) -> Iterator[ServerProcess]:
    with ServerProcess(root, str(tmp_path / "server.db")) as proc:
        yield proc


def test_approval_over_http_finishes_without_resume(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        run_id = client.post("/v1/runs", json={"workflowPath": "approve.py"}).json()["runId"]
        assert client.get(f"/v1/runs/{run_id}").status_code == 200  # committed before the 200
        wait_until(lambda: status_of(client, run_id) == "waiting-approval")
        listed = client.get("/v1/approvals").json()["approvals"]
        assert [(a["runId"], a["nodeId"], a["requestTitle"]) for a in listed] == [
            (run_id, "ship", "Ship?")
        ]
        answer = client.post(
            f"/v1/runs/{run_id}/nodes/ship/approve", json={"note": "go", "decidedBy": "ann"}
        )
        assert answer.json() == {
            "runId": run_id,
            "nodeId": "ship",
            "iteration": 0,
            "status": "approved",
        }
        wait_until(lambda: status_of(client, run_id) == "finished")
        assert client.get("/v1/approvals").json() == {"approvals": []}
        types = [e["type"] for e in events_of(client, run_id)]
        assert types.count("RunStarted") == 2 and types[-1] == "RunFinished"


def test_signal_wakes_waiting_run(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        run_id = client.post("/v1/runs", json={"workflowPath": "signal.py"}).json()["runId"]
        wait_until(lambda: status_of(client, run_id) == "waiting-event")
        miss = client.post(
            f"/v1/runs/{run_id}/signals/payment", json={"data": {"n": 1}, "correlationId": "o-2"}
        )
        assert miss.json()["delivered"] is False
        hit = client.post(
            f"/signal/{run_id}/payment", json={"data": {"n": 2}, "correlationId": "o-1"}
        )
        assert hit.json()["delivered"] is True and hit.json()["seq"] == 1
        wait_until(lambda: status_of(client, run_id) == "finished")


def test_cancel_active_and_suspended_runs(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        active = client.post("/v1/runs", json={"workflowPath": "slow.py"}).json()["runId"]
        waiting = client.post("/v1/runs", json={"workflowPath": "approve.py"}).json()["runId"]
        wait_until(lambda: client.get(f"/v1/runs/{active}").json()["summary"] == {"in-progress": 1})
        wait_until(lambda: status_of(client, waiting) == "waiting-approval")
        started = time.monotonic()
        assert client.post(f"/v1/runs/{active}/cancel").json() == {"runId": active}
        wait_until(lambda: status_of(client, active) == "cancelled", timeout=5)
        assert time.monotonic() - started < 0.5
        assert client.post(f"/v1/runs/{waiting}/cancel").status_code == 200
        assert status_of(client, waiting) == "cancelled"  # a suspended run is cancelled at once
        again = client.post(f"/v1/runs/{waiting}/cancel")
        assert again.status_code == 409 and again.json()["error"]["code"] == "RUN_NOT_ACTIVE"


def test_sse_ids_dense_reconnect_exact_and_closes(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=20) as client:
        run_id = client.post(
            "/v1/runs", json={"workflowPath": "steps.py", "input": {"n": 15}}
        ).json()["runId"]
        first: list[int] = []
        with connect_sse(client, "GET", f"/v1/runs/{run_id}/events") as source:
            assert source.response.headers["content-type"] == "text/event-stream"
            for sse in source.iter_sse():
                if not sse.data:
                    continue
                assert sse.event == "smithers"
                first.append(int(sse.id))
                if len(first) == 12:
                    break  # drop the connection mid-run
        resumed: list[tuple[int, str]] = []
        headers = {"Last-Event-ID": str(first[-1])}
        with connect_sse(client, "GET", f"/v1/runs/{run_id}/events", headers=headers) as source:
            for sse in source.iter_sse():
                if sse.data:
                    resumed.append((int(sse.id), sse.json()["type"]))
        ids = first + [i for i, _ in resumed]
        assert ids == list(range(len(ids)))  # dense, nothing lost, nothing repeated
        assert resumed[-1][1] == "RunFinished"  # the stream closed after the terminal event
        replay = events_of(client, run_id)
        assert [e["id"] for e in replay] == ids


def test_sigkill_with_runs_in_flight_then_restart_finishes_them(root: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "server.db")
    first = ServerProcess(root, db).start()
    try:
        with httpx.Client(base_url=first.url, timeout=10) as client:
            ids = start_slow_runs(client, 3)
    finally:
        first.kill()
    with ServerProcess(root, db) as second, httpx.Client(base_url=second.url, timeout=10) as client:
        for run_id in ids:
            assert_finished_after_one_interruption(client, run_id)


def test_sigterm_interrupts_runs_for_the_next_server(root: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "server.db")
    with ServerProcess(root, db) as first, httpx.Client(base_url=first.url, timeout=10) as client:
        run_id = client.post(
            "/v1/runs", json={"workflowPath": "slow.py", "input": {"sleep": 1, "steps": 2}}
        ).json()["runId"]
        wait_until(lambda: client.get(f"/v1/runs/{run_id}").json()["summary"].get("in-progress"))
        assert first.stop() == 0
    with ServerProcess(root, db) as second, httpx.Client(base_url=second.url, timeout=10) as client:
        row = client.get(f"/v1/runs/{run_id}").json()
        assert row["status"] in ("running", "finished")  # stays running: not cancelled on shutdown
        wait_until(lambda: status_of(client, run_id) == "finished", timeout=30)


def test_sigterm_with_open_event_streams_stops_gracefully(root: Path, tmp_path: Path) -> None:
    """Open streams end at SIGTERM, so the worker stops by itself and interrupts its runs
    (before, Granian waited on the streams and killed the worker after 20 s)."""
    db = str(tmp_path / "server.db")
    server = ServerProcess(root, db).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            waiting = client.post("/v1/runs", json={"workflowPath": "approve.py"}).json()["runId"]
            working = client.post(
                "/v1/runs", json={"workflowPath": "slow.py", "input": {"sleep": 5}}
            ).json()["runId"]
            wait_until(lambda: status_of(client, waiting) == "waiting-approval")
            wait_until(
                lambda: client.get(f"/v1/runs/{working}").json()["summary"].get("in-progress")
            )
            seen: dict[str, list[int]] = {waiting: [], working: []}

            def follow(run_id: str) -> None:
                with connect_sse(client, "GET", f"/v1/runs/{run_id}/events") as source:
                    seen[run_id].extend(int(e.id) for e in source.iter_sse() if e.data)

            streams = [threading.Thread(target=follow, args=(r,)) for r in seen]
            for stream in streams:
                stream.start()
            wait_until(lambda: all(seen.values()))
            started = time.monotonic()
            assert server.stop() == 0
            elapsed = time.monotonic() - started
            for stream in streams:
                stream.join(10)
                assert not stream.is_alive(), "an event stream outlived the server"
    finally:
        server.kill()
    log = "".join(server.log)
    assert elapsed < 10 and "refused to gracefully stop" not in log, f"{elapsed:.1f} s\n{log}"
    with ServerProcess(root, db) as second, httpx.Client(base_url=second.url, timeout=30) as client:
        assert status_of(client, waiting) == "waiting-approval"
        events = events_of(client, working)  # interrupted by the stop, then finished here
        assert [e["reason"] for e in events if e["type"] == "NodeCancelled"] == ["interrupted"]
        assert events[-1]["type"] == "RunFinished"
        assert seen[waiting] == list(range(len(seen[waiting])))  # dense until the stream ended
        assert seen[working] == [e["id"] for e in events][: len(seen[working])]


def test_two_workers_stream_runs_owned_by_either(root: Path, tmp_path: Path) -> None:
    with (
        ServerProcess(root, str(tmp_path / "server.db"), workers=2) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        runs = [
            client.post("/v1/runs", json={"workflowPath": "steps.py", "input": {"n": 8}}).json()[
                "runId"
            ]
            for _ in range(3)
        ]
        owners = set()
        for run_id in runs:
            streams = [
                events_of(client, run_id) for _ in range(4)
            ]  # new connection each: both workers
            for events in streams:
                assert [e["id"] for e in events] == list(range(len(events)))
                assert events[-1]["type"] == "RunFinished"
            assert all(s == streams[0] for s in streams)
        for run_id in runs:
            owners.add(client.get(f"/v1/runs/{run_id}").json()["status"])
        assert owners == {"finished"}
        metrics = client.get("/metrics").text
        assert "smithers_runs_total 3.0" in metrics  # the exposition sums both workers


def test_server_continues_runs_decided_or_due_while_no_server_ran(
    root: Path, tmp_path: Path
) -> None:
    """Startup recovery: decided approvals and due timers are picked up; nothing else."""
    import asyncio

    from tests.helpers import Harness

    (root / "timer.py").write_text(
        textwrap.dedent("""
        from smithers import workflow, Task, Sequence, Timer
        @workflow("timer")
        def build(ctx):
            return Sequence(Timer("nap", duration="1s"), Task("after", value=1))
    """)
    )
    db = str(tmp_path / "server.db")

    async def prepare() -> tuple[str, str, str]:
        async with Harness(db) as h:
            decided, _ = await h.run(root / "approve.py")
            await h.scheduler.decide(h.store, decided, "ship", 0, approved=True)
            undecided, _ = await h.run(root / "approve.py")
            napping, outcome = await h.run(root / "timer.py")
            assert outcome.status == "waiting-timer"
            return decided, undecided, napping

    decided, undecided, napping = asyncio.run(prepare())
    with ServerProcess(root, db) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        wait_until(lambda: status_of(client, decided) == "finished")
        wait_until(lambda: status_of(client, napping) == "finished")
        assert status_of(client, undecided) == "waiting-approval"
