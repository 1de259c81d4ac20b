"""§5 ``GET /v1/runs`` and ``GET /v1/approvals`` (with its aliases)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from contracts.documented import APPROVAL_PATHS
from contracts.expect import expect_error, expect_json
from contracts.runs import Runs

RUNS = "/v1/runs"
RUN_KEYS = {
    "runId",
    "parentRunId",
    "workflowName",
    "workflowPath",
    "workflowHash",
    "status",
    "createdAtMs",
    "startedAtMs",
    "finishedAtMs",
    "heartbeatAtMs",
    "runtimeOwnerId",
    "cancelRequestedAtMs",
    "hijackRequestedAtMs",
    "hijackTarget",
    "vcsType",
    "vcsRoot",
    "vcsRevision",
    "errorJson",
    "configJson",
}
APPROVAL_KEYS = {
    "runId",
    "nodeId",
    "iteration",
    "workflowName",
    "runStatus",
    "label",
    "requestTitle",
    "requestSummary",
    "requestedAtMs",
    "waitingMs",
    "note",
    "decidedBy",
}
STATUSES = (
    "running",
    "waiting-approval",
    "waiting-event",
    "waiting-timer",
    "finished",
    "failed",
    "cancelled",
    "continued",
)


def each_approvals_path(status: int) -> list[Any]:
    return [
        pytest.param(p, marks=pytest.mark.contract("GET", p, status), id=p) for p in APPROVAL_PATHS
    ]


@pytest.mark.contract("GET", RUNS, 200)
def test_runs_newest_first_with_every_field(http: httpx.Client, runs: Runs) -> None:
    older, newer = runs.finished(), runs.finished()
    listed = expect_json(http.get(RUNS, params={"limit": 1000}))
    assert all(set(row) == RUN_KEYS for row in listed)
    created = [row["createdAtMs"] for row in listed]
    assert created == sorted(created, reverse=True)
    by_id = {row["runId"]: row for row in listed}
    assert by_id[newer]["createdAtMs"] >= by_id[older]["createdAtMs"]
    row = by_id[newer]
    assert row["status"] == "finished" and row["workflowName"] == "contract-instant"
    assert isinstance(row["configJson"], str | None) and isinstance(row["errorJson"], str | None)


@pytest.mark.contract("GET", RUNS, 200)
def test_runs_limit_and_status_filter(http: httpx.Client, runs: Runs) -> None:
    failed = runs.start("failing")
    runs.wait(failed, "failed")
    runs.finished()
    assert len(expect_json(http.get(RUNS, params={"limit": 1}))) == 1
    only_failed = expect_json(http.get(RUNS, params={"status": "failed", "limit": 1000}))
    assert failed in {row["runId"] for row in only_failed}
    assert {row["status"] for row in only_failed} == {"failed"}
    for status in STATUSES:
        expect_json(http.get(RUNS, params={"status": status}))


@pytest.mark.contract("GET", RUNS, 400)
@pytest.mark.parametrize("raw", ["", "0", "-3", "1001", "2.5", "ten"])
def test_runs_bad_limit(http: httpx.Client, raw: str) -> None:
    response = http.get(RUNS, params={"limit": raw})
    expect_error(response, 400, "INVALID_REQUEST", f'Expected a positive integer, got "{raw}"')


@pytest.mark.contract("GET", RUNS, 400)
@pytest.mark.parametrize("raw", ["", "done", "RUNNING", "waiting"])
def test_runs_bad_status(http: httpx.Client, raw: str) -> None:
    expect_error(http.get(RUNS, params={"status": raw}), 400, "INVALID_REQUEST", mentions="status")


@pytest.mark.contract("GET", RUNS, 400)
def test_runs_without_a_server_database(dbless_http: httpx.Client) -> None:
    expect_error(dbless_http.get(RUNS), 400, "DB_NOT_CONFIGURED")
    # checked first: a bad query does not matter
    expect_error(dbless_http.get(RUNS, params={"limit": "x"}), 400, "DB_NOT_CONFIGURED")


@pytest.mark.parametrize("path", each_approvals_path(200))
def test_pending_approvals(http: httpx.Client, runs: Runs, path: str) -> None:
    first, second = runs.waiting_approval(), runs.waiting_approval()
    body = expect_json(http.get(path))
    assert set(body) == {"approvals"}
    listed = body["approvals"]
    assert all(set(item) == APPROVAL_KEYS for item in listed)
    requested = [item["requestedAtMs"] for item in listed]
    assert requested == sorted(requested)
    mine = {item["runId"]: item for item in listed if item["runId"] in (first, second)}
    assert set(mine) == {first, second}
    assert mine[first]["requestedAtMs"] <= mine[second]["requestedAtMs"]
    item = mine[first]
    assert item["nodeId"] == "gate" and item["iteration"] == 0 and item["label"] == "gate"
    assert item["workflowName"] == "contract-approval" and item["runStatus"] == "waiting-approval"
    assert (
        item["requestTitle"] == "Ship it?" and item["requestSummary"] == "contract suite approval"
    )
    assert item["waitingMs"] >= 0 and item["note"] is None and item["decidedBy"] is None


@pytest.mark.parametrize("path", each_approvals_path(200))
def test_decided_and_cancelled_approvals_leave_the_list(
    http: httpx.Client, runs: Runs, path: str
) -> None:
    approved, cancelled = runs.waiting_approval(), runs.waiting_approval()
    assert http.post(f"/v1/runs/{approved}/nodes/gate/approve").status_code == 200
    assert http.post(f"/v1/runs/{cancelled}/cancel").status_code == 200
    listed = {item["runId"] for item in expect_json(http.get(path))["approvals"]}
    assert approved not in listed and cancelled not in listed


@pytest.mark.parametrize("path", each_approvals_path(400))
def test_approvals_without_a_server_database(dbless_http: httpx.Client, path: str) -> None:
    expect_error(dbless_http.get(path), 400, "DB_NOT_CONFIGURED")
