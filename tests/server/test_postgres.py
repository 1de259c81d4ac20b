"""Servers on PostgreSQL (how users go past one machine): two processes on one database,
where either answers for, decides on and streams the runs the other executes and a killed
server's runs are finished by the one left; and the contract suite against such a server."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.process import (
    ServerProcess,
    assert_finished_after_one_interruption,
    events_of,
    start_slow_runs,
    status_of,
    wait_until,
)


@pytest.fixture
def pair(root: Path, pg_url: str) -> Iterator[tuple[httpx.Client, httpx.Client, ServerProcess]]:
    """Clients of servers A and B on the same database, and A's process."""
    with (
        ServerProcess(root, pg_url) as a,
        ServerProcess(root, pg_url) as b,
        httpx.Client(base_url=a.url, timeout=20) as client_a,
        httpx.Client(base_url=b.url, timeout=20) as client_b,
    ):
        yield client_a, client_b, a


def test_either_server_answers_decides_and_streams(
    pair: tuple[httpx.Client, httpx.Client, ServerProcess],
) -> None:
    a, b, _ = pair
    waiting = a.post("/v1/runs", json={"workflowPath": "approve.py"}).json()["runId"]
    wait_until(lambda: status_of(b, waiting) == "waiting-approval")
    assert waiting in [r["runId"] for r in b.get("/v1/runs").json()]
    assert [x["runId"] for x in b.get("/v1/approvals").json()["approvals"]] == [waiting]
    decided = b.post(f"/v1/runs/{waiting}/nodes/ship/approve", json={"decidedBy": "ann"})
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    wait_until(lambda: status_of(a, waiting) == "finished")

    paid = b.post("/v1/runs", json={"workflowPath": "signal.py"}).json()["runId"]
    wait_until(lambda: status_of(a, paid) == "waiting-event")
    hit = a.post(f"/v1/runs/{paid}/signals/payment", json={"data": {}, "correlationId": "o-1"})
    assert hit.json()["delivered"] is True
    wait_until(lambda: status_of(b, paid) == "finished")

    # A executes the run; B streams it from the database while it runs.
    steps = a.post("/v1/runs", json={"workflowPath": "steps.py", "input": {"n": 10}}).json()
    from_b = events_of(b, steps["runId"])
    assert [e["id"] for e in from_b] == list(range(len(from_b)))
    assert from_b[-1]["type"] == "RunFinished"
    assert events_of(a, steps["runId"]) == from_b


def test_runs_of_a_killed_server_finish_on_the_other(
    pair: tuple[httpx.Client, httpx.Client, ServerProcess],
) -> None:
    a, b, process_a = pair
    ids = start_slow_runs(a, 2, observer=b)
    process_a.kill()
    for run_id in ids:
        assert_finished_after_one_interruption(b, run_id)


@pytest.mark.timeout(300)
def test_the_contract_suite_passes_against_a_postgresql_server(pg_url: str, tmp_path: Path) -> None:
    """The whole black-box suite, over HTTP, against a server whose database is PostgreSQL."""
    repo = Path(__file__).resolve().parents[2]
    root = tmp_path / "root"
    shutil.copytree(repo / "contracts" / "workflows", root / "contract-workflows")
    with ServerProcess(root, pg_url, token="contract-token") as server:
        done = subprocess.run(
            [
                *(sys.executable, "-m", "pytest", "contracts", "-q", "-p", "no:cacheprovider"),
                *("--base-url", server.url, "--token", "contract-token"),
                *("--root-workflows", "contract-workflows"),
            ],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=240,
        )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout.splitlines()[-1]


def test_connections_dropped_by_the_database_cost_no_request(root: Path, pg_url: str) -> None:
    """PostgreSQL restarts and failovers close pooled connections under a running server."""
    import asyncio

    import asyncpg

    from tests.conftest import PG_URL

    with (
        ServerProcess(root, pg_url) as server,
        httpx.Client(base_url=server.url, timeout=20) as client,
    ):
        run_id = client.post("/v1/runs", json={"workflowPath": "approve.py"}).json()["runId"]
        wait_until(lambda: status_of(client, run_id) == "waiting-approval")

        async def drop_other_connections() -> int:
            conn = await asyncpg.connect(PG_URL)
            try:
                return len(
                    await conn.fetch(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
            finally:
                await conn.close()

        assert asyncio.run(drop_other_connections()) > 0
        answers = [client.get(f"/v1/runs/{run_id}").status_code for _ in range(3)]
        assert answers == [200, 200, 200]
        decided = client.post(f"/v1/runs/{run_id}/nodes/ship/approve", json={})
        assert decided.status_code == 200
        wait_until(lambda: status_of(client, run_id) == "finished")
