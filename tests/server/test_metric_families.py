"""Every metric family of the HTTP spec (§6) moves under real runs of a real server (and in
serve mode), and every gauge comes back to zero once nothing runs: a metric nothing updates
cannot come back."""

from __future__ import annotations

import signal
import subprocess
import threading
from collections import Counter
from pathlib import Path

import httpx
import pytest
from httpx_sse import connect_sse
from prometheus_client.parser import text_string_to_metric_families

from smithers.server.process.runner import free_port
from tests.cli.helpers import SMITHERS
from tests.server.process import ServerProcess, status_of, wait_until

COUNTERS = (
    "smithers_http_requests_total",
    "smithers_runs_total",
    "smithers_runs_finished_total",
    "smithers_runs_failed_total",
    "smithers_runs_cancelled_total",
    "smithers_runs_resumed_total",
    "smithers_nodes_started_total",
    "smithers_nodes_finished_total",
    "smithers_nodes_failed_total",
    "smithers_node_retries_total",
    "smithers_approvals_requested_total",
    "smithers_approvals_granted_total",
    "smithers_approvals_denied_total",
    "smithers_events_emitted_total",
    "smithers_http_request_duration_ms_count",
    "smithers_run_duration_ms_count",
    "smithers_node_duration_ms_count",
)
GAUGES = (
    "smithers_runs_active",
    "smithers_nodes_active",
    "smithers_sse_subscribers",
    "smithers_approval_pending",
)


def scrape(client: httpx.Client) -> Counter[str]:
    """Each sample name of the exposition, summed over its labels."""
    sums: Counter[str] = Counter()
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            sums[sample.name] += sample.value
    return sums


def _hold_stream(client: httpx.Client, run_id: str, opened: threading.Event) -> None:
    with connect_sse(client, "GET", f"/v1/runs/{run_id}/events") as source:
        opened.set()
        for _ in source.iter_sse():
            pass  # until the run ends and the server closes the stream


@pytest.mark.parametrize("workers", [1, 2])
def test_every_family_moves_and_every_gauge_returns_to_zero(
    root: Path, tmp_path: Path, workers: int
) -> None:
    db = str(tmp_path / "server.db")
    with (
        ServerProcess(root, db, workers=workers) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        before = scrape(client)
        for gauge in GAUGES:
            assert before[gauge] == 0, gauge

        busy = client.post("/v1/runs", json={"workflowPath": "slow.py", "input": {"sleep": 2}})
        busy_id = busy.json()["runId"]
        wait_until(lambda: client.get(f"/v1/runs/{busy_id}").json()["summary"].get("in-progress"))
        opened = threading.Event()
        stream = threading.Thread(target=_hold_stream, args=(client, busy_id, opened))
        stream.start()
        assert opened.wait(10)

        flaky = client.post("/v1/runs", json={"workflowPath": "flaky.py"}).json()["runId"]
        denied = client.post("/v1/runs", json={"workflowPath": "approve.py"}).json()["runId"]
        failing = client.post("/v1/runs", json={"workflowPath": "fail.py"}).json()["runId"]
        for run_id in (flaky, denied):
            wait_until(lambda run_id=run_id: status_of(client, run_id) == "waiting-approval")
        wait_until(lambda: status_of(client, failing) == "failed")

        during = scrape(client)
        assert during["smithers_runs_active"] >= 1
        assert during["smithers_nodes_active"] >= 1  # the slow task, still sleeping
        assert during["smithers_sse_subscribers"] >= 1
        assert during["smithers_approval_pending"] == 2

        assert client.post(f"/v1/runs/{flaky}/nodes/gate/approve", json={}).status_code == 200
        assert client.post(f"/v1/runs/{denied}/nodes/ship/deny", json={}).status_code == 200
        assert client.post(f"/v1/runs/{failing}/resume").status_code == 200
        cancelled = client.post("/v1/runs", json={"workflowPath": "slow.py"}).json()["runId"]
        wait_until(lambda: status_of(client, cancelled) == "running")
        assert client.post(f"/v1/runs/{cancelled}/cancel").status_code == 200
        for run_id, status in (
            (busy_id, "finished"),
            (flaky, "finished"),
            (failing, "failed"),
            (cancelled, "cancelled"),
        ):
            wait_until(lambda r=run_id, s=status: status_of(client, r) == s, timeout=30)
        wait_until(lambda: status_of(client, denied) in ("failed", "finished"))
        stream.join(15)
        assert not stream.is_alive()

        def settled() -> Counter[str] | None:
            after = scrape(client)
            return after if all(after[g] == 0 for g in GAUGES) else None

        after = wait_until(settled, timeout=10)
        for name in COUNTERS:
            assert after[name] > before[name], f"{name} did not move"
        assert after["smithers_node_retries_total"] - before["smithers_node_retries_total"] >= 1
        assert after["smithers_runs_resumed_total"] - before["smithers_runs_resumed_total"] >= 1


def test_serve_mode_counts_the_attempt_it_executes(root: Path) -> None:
    port = free_port("127.0.0.1")
    proc = subprocess.Popen(
        [*SMITHERS, "up", "slow.py", "-i", '{"sleep": 1.5}', "--serve", f"--port={port}"],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:

            def running() -> bool:
                try:
                    return bool(client.get("/").json()["summary"].get("in-progress"))
                except httpx.HTTPError:
                    return False

            wait_until(running, timeout=30)
            during = scrape(client)
            assert during["smithers_nodes_active"] == 1 and during["smithers_runs_active"] == 1
            wait_until(lambda: client.get("/").json()["status"] == "finished", timeout=30)
            after = scrape(client)
            assert after["smithers_nodes_active"] == 0 and after["smithers_runs_active"] == 0
            assert after["smithers_node_duration_ms_count"] == 1
            assert after["smithers_node_duration_ms_sum"] >= 1500
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
