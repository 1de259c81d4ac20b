"""Metrics that describe the database rather than this process's history."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.server.process import ServerProcess, status_of, wait_until


def pending_gauge(client: httpx.Client) -> float:
    text = client.get("/metrics").text
    match = re.search(r"^smithers_approval_pending (\S+)$", text, re.MULTILINE)
    assert match, text
    return float(match.group(1))


def test_pending_approvals_gauge_counts_what_waits_across_cancel_and_restart(
    root: Path, tmp_path: Path
) -> None:
    db = str(tmp_path / "server.db")
    with ServerProcess(root, db) as server, httpx.Client(base_url=server.url) as client:
        start = {"workflowPath": "approve.py"}
        ids = [client.post("/v1/runs", json=start).json()["runId"] for _ in range(3)]
        for run_id in ids:
            wait_until(lambda run_id=run_id: status_of(client, run_id) == "waiting-approval")
        assert pending_gauge(client) == 3
        assert client.post(f"/v1/runs/{ids[0]}/cancel").status_code == 200  # never decided
        assert client.post(f"/v1/runs/{ids[1]}/nodes/ship/deny", json={}).status_code == 200
        assert pending_gauge(client) == 1
    with ServerProcess(root, db) as server, httpx.Client(base_url=server.url) as client:
        assert pending_gauge(client) == 1  # a new process counts what still waits
        assert client.post(f"/v1/runs/{ids[2]}/nodes/ship/approve", json={}).status_code == 200
        assert pending_gauge(client) == 0
