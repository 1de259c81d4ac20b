"""§5 ``POST /v1/runs/{runId}/resume`` and ``POST /v1/runs/{runId}/cancel``."""

from __future__ import annotations

import time

import httpx
import pytest

from contracts.expect import expect_error, expect_json
from contracts.paths import MISSING_RUN
from contracts.runs import Runs
from contracts.sse import read_stream

RESUME = "/v1/runs/{runId}/resume"
CANCEL = "/v1/runs/{runId}/cancel"


@pytest.mark.contract("POST", RESUME, 200)
def test_resume_of_an_active_run_says_running(http: httpx.Client, runs: Runs) -> None:
    run_id = runs.active()
    body = expect_json(http.post(f"/v1/runs/{run_id}/resume"))
    assert body == {"runId": run_id, "status": "running"}
    assert runs.get(run_id)["status"] == "running"


@pytest.mark.contract("POST", RESUME, 200)
def test_resume_of_a_suspended_run_reenters_it(http: httpx.Client, runs: Runs) -> None:
    run_id = runs.waiting_approval()
    assert expect_json(http.post(f"/v1/runs/{run_id}/resume", json={})) == {"runId": run_id}
    runs.wait(run_id, "waiting-approval")  # still waiting: nothing decided it


def attempts_of(http: httpx.Client, run_id: str, node_id: str) -> int:
    """How many times the node started, from the run's complete event stream."""
    events = read_stream(http, run_id).events
    return sum(e.data["type"] == "NodeStarted" and e.data["nodeId"] == node_id for e in events)


@pytest.mark.contract("POST", RESUME, 200)
def test_resume_of_a_failed_run_retries_once(http: httpx.Client, runs: Runs) -> None:
    run_id = runs.start("failing")
    runs.wait(run_id, "failed")
    assert attempts_of(http, run_id, "explode") == 1
    assert expect_json(http.post(f"/v1/runs/{run_id}/resume")) == {"runId": run_id}
    deadline = time.monotonic() + 20
    while attempts_of(http, run_id, "explode") < 2:
        assert time.monotonic() < deadline, "the resumed run did not retry its failed node"
        time.sleep(0.05)
    assert runs.wait(run_id, "failed")["summary"] == {"failed": 1}
    time.sleep(0.3)  # one more attempt, not a loop
    assert attempts_of(http, run_id, "explode") == 2


@pytest.mark.contract("POST", RESUME, 200)
def test_resume_of_a_finished_run_changes_nothing(http: httpx.Client, runs: Runs) -> None:
    # The common way to meet it: approve (the server continues the run by itself), then call
    # /resume as clients of the original had to. A finished run is final.
    run_id = runs.waiting_approval()
    approve = http.post(f"/v1/runs/{run_id}/nodes/gate/approve", json={})
    assert approve.status_code == 200, approve.text
    before = runs.wait(run_id, "finished")
    events = read_stream(http, run_id).events
    assert expect_json(http.post(f"/v1/runs/{run_id}/resume")) == {"runId": run_id}
    again = {"workflowPath": runs.deployment.workflow("approval"), "runId": run_id, "resume": True}
    assert expect_json(http.post("/v1/runs", json=again)) == {"runId": run_id}
    time.sleep(0.3)  # a re-entered run would have written RunStarted/RunFinished by now
    assert runs.get(run_id) == before
    after = read_stream(http, run_id).events
    assert [e.data for e in after] == [e.data for e in events]
    assert [e.data["type"] for e in after].count("RunFinished") == 1


@pytest.mark.contract("POST", RESUME, 200)
def test_resume_of_a_cancelled_run_continues_it(http: httpx.Client, runs: Runs) -> None:
    run_id = runs.waiting_approval()
    assert http.post(f"/v1/runs/{run_id}/cancel").status_code == 200
    runs.wait(run_id, "cancelled")
    assert expect_json(http.post(f"/v1/runs/{run_id}/resume")) == {"runId": run_id}
    runs.wait(run_id, "waiting-approval")  # the cancelled approval is requested again


@pytest.mark.contract("POST", RESUME, 404)
def test_resume_of_an_unknown_run(http: httpx.Client) -> None:
    response = http.post(f"/v1/runs/{MISSING_RUN}/resume")
    expect_error(response, 404, "RUN_NOT_FOUND", "Run id does not exist")


@pytest.mark.contract("POST", RESUME, 400)
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"workflowPath": ""}, "workflowPath must be a string"),
        ({"workflowPath": None}, "workflowPath must be a string"),
        ({"workflowPath": 3}, "workflowPath must be a string"),
        ({"input": []}, "input must be a JSON object"),
        ({"input": None}, "input must be a JSON object"),
        ({"config": {"maxConcurrency": 0}}, "config.maxConcurrency must be a positive number"),
    ],
)
def test_resume_field_errors(
    http: httpx.Client, finished_run: str, body: dict, message: str
) -> None:
    response = http.post(f"/v1/runs/{finished_run}/resume", json=body)
    expect_error(response, 400, "INVALID_REQUEST", message)


@pytest.mark.contract("POST", RESUME, 400)
def test_resume_with_a_path_outside_the_root(http: httpx.Client, finished_run: str) -> None:
    body = {"workflowPath": "../" * 40 + "outside.py"}
    response = http.post(f"/v1/runs/{finished_run}/resume", json=body)
    expect_error(response, 400, "WORKFLOW_PATH_OUTSIDE_ROOT")


@pytest.mark.contract("POST", CANCEL, 404)
def test_cancel_of_an_unknown_run(http: httpx.Client) -> None:
    response = http.post(f"/v1/runs/{MISSING_RUN}/cancel")
    expect_error(response, 404, "NOT_FOUND", "Run not found")


@pytest.mark.contract("POST", CANCEL, 409)
def test_cancel_of_a_terminal_run(http: httpx.Client, runs: Runs) -> None:
    for run_id in (runs.finished(), runs.start("failing")):
        runs.wait(run_id, "finished", "failed")
        response = http.post(f"/v1/runs/{run_id}/cancel")
        expect_error(response, 409, "RUN_NOT_ACTIVE", "Run is not currently active")


@pytest.mark.contract("POST", CANCEL, 200)
@pytest.mark.parametrize("state", ["waiting_approval", "waiting_signal"])
def test_cancel_of_a_suspended_run_is_immediate(http: httpx.Client, runs: Runs, state: str) -> None:
    run_id = getattr(runs, state)()
    assert expect_json(http.post(f"/v1/runs/{run_id}/cancel")) == {"runId": run_id}
    assert runs.get(run_id)["status"] == "cancelled"


@pytest.mark.contract("POST", CANCEL, 200)
def test_cancel_of_an_active_run_finishes_promptly(http: httpx.Client, runs: Runs) -> None:
    run_id = runs.active()
    asked = time.monotonic()
    assert expect_json(http.post(f"/v1/runs/{run_id}/cancel")) == {"runId": run_id}
    runs.wait(run_id, "cancelled", timeout=5)
    assert time.monotonic() - asked < 5


def test_cancel_ignores_a_body(http: httpx.Client, runs: Runs) -> None:
    run_id = runs.waiting_signal()
    response = http.post(f"/v1/runs/{run_id}/cancel", content=b"not json")
    assert expect_json(response) == {"runId": run_id}
