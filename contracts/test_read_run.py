"""§5 ``GET /v1/runs/{runId}`` and ``GET /v1/runs/{runId}/frames``."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest

from contracts.expect import expect_error, expect_json
from contracts.paths import MISSING_RUN
from contracts.runs import Runs

RUN = "/v1/runs/{runId}"
FRAMES = "/v1/runs/{runId}/frames"
RUN_KEYS = {
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
FRAME_KEYS = {
    "runId",
    "frameNo",
    "createdAtMs",
    "xmlJson",
    "xmlHash",
    "encoding",
    "mountedTaskIdsJson",
    "taskIndexJson",
    "note",
}


@pytest.mark.contract("GET", RUN, 200)
def test_a_finished_run(http: httpx.Client, finished_run: str) -> None:
    run = expect_json(http.get(f"/v1/runs/{finished_run}"))
    assert set(run) == RUN_KEYS
    assert run["runId"] == finished_run and run["workflowName"] == "contract-instant"
    assert run["status"] == "finished" and run["error"] is None
    assert run["summary"] == {"finished": 2}
    assert run["createdAtMs"] <= run["startedAtMs"] <= run["finishedAtMs"]
    assert all(isinstance(run[k], int) for k in ("createdAtMs", "startedAtMs", "finishedAtMs"))


@pytest.mark.contract("GET", RUN, 200)
def test_a_failed_run_reports_its_error(http: httpx.Client, runs: Runs) -> None:
    run = runs.wait(runs.start("failing"), "failed")
    assert run["summary"] == {"failed": 1}
    error = run["error"]
    assert error == "Task(s) failed: explode" or (
        isinstance(error, dict) and {"name", "message"} <= set(error)
    ), error


@pytest.mark.contract("GET", RUN, 200)
@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("waiting_approval", "waiting-approval"),
        ("waiting_signal", "waiting-event"),
        ("active", "running"),
    ],
)
def test_statuses_of_live_runs(http: httpx.Client, runs: Runs, state: str, status: str) -> None:
    run_id = getattr(runs, state)()
    run = expect_json(http.get(f"/v1/runs/{run_id}"))
    assert run["status"] == status and run["finishedAtMs"] is None and run["error"] is None


@pytest.mark.contract("GET", RUN, 404)
def test_an_unknown_run(http: httpx.Client) -> None:
    expect_error(http.get(f"/v1/runs/{MISSING_RUN}"), 404, "NOT_FOUND", "Run not found")


@pytest.mark.contract("GET", FRAMES, 200)
def test_frames_newest_first(http: httpx.Client, finished_run: str) -> None:
    frames = expect_json(http.get(f"/v1/runs/{finished_run}/frames"))
    assert frames, "a run that rendered has frames"
    numbers = [f["frameNo"] for f in frames]
    assert numbers == sorted(numbers, reverse=True)
    for frame in frames:
        assert set(frame) == FRAME_KEYS and frame["runId"] == finished_run
        json.loads(frame["xmlJson"])
        assert frame["xmlHash"] == hashlib.sha256(frame["xmlJson"].encode()).hexdigest()
    assert (
        expect_json(http.get(f"/v1/runs/{finished_run}/frames", params={"limit": 1})) == frames[:1]
    )


@pytest.mark.contract("GET", FRAMES, 200)
def test_frames_after_a_number_oldest_first(http: httpx.Client, finished_run: str) -> None:
    newest_first = expect_json(http.get(f"/v1/runs/{finished_run}/frames"))
    oldest = min(f["frameNo"] for f in newest_first)
    after = expect_json(
        http.get(f"/v1/runs/{finished_run}/frames", params={"afterFrameNo": oldest - 1})
    )
    assert after == sorted(newest_first, key=lambda f: f["frameNo"])
    first_only = http.get(
        f"/v1/runs/{finished_run}/frames", params={"afterFrameNo": oldest - 1, "limit": 1}
    )
    assert expect_json(first_only) == after[:1]
    last = after[-1]["frameNo"]
    assert (
        expect_json(http.get(f"/v1/runs/{finished_run}/frames", params={"afterFrameNo": last}))
        == []
    )


@pytest.mark.contract("GET", FRAMES, 404)
def test_frames_of_an_unknown_run(http: httpx.Client) -> None:
    expect_error(http.get(f"/v1/runs/{MISSING_RUN}/frames"), 404, "NOT_FOUND", "Run not found")


@pytest.mark.contract("GET", FRAMES, 400)
@pytest.mark.parametrize("raw", ["", "0", "-1", "1001", "1.5", "abc", "1e2", " 5"])
def test_frames_bad_limit(http: httpx.Client, finished_run: str, raw: str) -> None:
    response = http.get(f"/v1/runs/{finished_run}/frames", params={"limit": raw})
    expect_error(response, 400, "INVALID_REQUEST", f'Expected a positive integer, got "{raw}"')


@pytest.mark.contract("GET", FRAMES, 400)
@pytest.mark.parametrize("raw", ["", "1.5", "abc", "1e2", "--1"])
def test_frames_bad_after_frame_no(http: httpx.Client, finished_run: str, raw: str) -> None:
    response = http.get(f"/v1/runs/{finished_run}/frames", params={"afterFrameNo": raw})
    expect_error(response, 400, "INVALID_REQUEST", f'Expected an integer, got "{raw}"')


def test_frames_limit_bounds_are_accepted(http: httpx.Client, finished_run: str) -> None:
    for raw in ("1", "1000"):
        expect_json(http.get(f"/v1/runs/{finished_run}/frames", params={"limit": raw}))
