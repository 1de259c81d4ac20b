"""``GET /v1/runs/{runId}/nodes``, ``…/tool-calls``, ``…/input`` and ``…/transcript``
(Smithers' additions to the API, for the console and any client: docs/http-api.md)."""

from __future__ import annotations

import httpx
import pytest

from contracts.expect import expect_error, expect_json
from contracts.paths import MISSING_RUN
from contracts.runs import Runs

NODES = "/v1/runs/{runId}/nodes"
TOOL_CALLS = "/v1/runs/{runId}/tool-calls"
INPUT = "/v1/runs/{runId}/input"
TRANSCRIPT = "/v1/runs/{runId}/transcript"
NODE_KEYS = {
    "nodeId",
    "iteration",
    "state",
    "label",
    "lastAttempt",
    "updatedAtMs",
    "attempts",
    "output",
}
ATTEMPT_KEYS = {
    "attempt",
    "state",
    "startedAtMs",
    "finishedAtMs",
    "heartbeatAtMs",
    "error",
    "cached",
}
CALL_KEYS = {
    "nodeId",
    "iteration",
    "attempt",
    "callId",
    "seq",
    "tool",
    "status",
    "input",
    "output",
    "error",
    "startedAtMs",
    "finishedAtMs",
}


@pytest.mark.contract("GET", NODES, 200)
def test_the_nodes_of_a_finished_run(http: httpx.Client, finished_run: str) -> None:
    nodes = expect_json(http.get(f"/v1/runs/{finished_run}/nodes"))
    assert [n["nodeId"] for n in nodes] == ["first", "second"]
    assert [n["output"] for n in nodes] == [{"n": 1}, {"n": 2}]
    for node in nodes:
        assert set(node) == NODE_KEYS
        assert node["state"] == "finished" and node["iteration"] == 0
        assert node["lastAttempt"] == 1
        [attempt] = node["attempts"]
        assert set(attempt) == ATTEMPT_KEYS
        assert attempt["attempt"] == 1 and attempt["state"] == "finished"
        assert attempt["error"] is None and attempt["cached"] is False
        assert attempt["startedAtMs"] <= attempt["finishedAtMs"]


@pytest.mark.contract("GET", NODES, 200)
def test_a_failed_attempt_carries_its_error(http: httpx.Client, runs: Runs) -> None:
    run_id = runs.start("failing")
    runs.wait(run_id, "failed")
    [node] = expect_json(http.get(f"/v1/runs/{run_id}/nodes"))
    assert node["nodeId"] == "explode" and node["state"] == "failed" and node["output"] is None
    [attempt] = node["attempts"]
    assert attempt["state"] == "failed"
    assert {"name", "message"} <= set(attempt["error"])


@pytest.mark.contract("GET", NODES, 404)
def test_the_nodes_of_an_unknown_run(http: httpx.Client) -> None:
    expect_error(http.get(f"/v1/runs/{MISSING_RUN}/nodes"), 404, "NOT_FOUND", "Run not found")


@pytest.mark.contract("GET", TOOL_CALLS, 200)
def test_the_tool_calls_of_a_run(http: httpx.Client, runs: Runs) -> None:
    run_id = runs.start("tooling")
    runs.wait(run_id, "finished")
    [call] = expect_json(http.get(f"/v1/runs/{run_id}/tool-calls"))
    assert set(call) == CALL_KEYS
    assert (call["nodeId"], call["iteration"], call["attempt"]) == ("calculate", 0, 1)
    assert call["tool"] == "add" and call["status"] == "ok"
    assert call["input"] == {"a": 2, "b": 3} and call["output"] == 5
    assert call["error"] is None and call["seq"] == 1  # the attempt's first call
    assert call["startedAtMs"] <= call["finishedAtMs"]
    assert expect_json(http.get(f"/v1/runs/{runs.start('instant')}/tool-calls")) == []
    [node] = expect_json(http.get(f"/v1/runs/{run_id}/nodes"))
    assert node["output"] == {"sum": 5}


@pytest.mark.contract("GET", TOOL_CALLS, 404)
def test_the_tool_calls_of_an_unknown_run(http: httpx.Client) -> None:
    expect_error(http.get(f"/v1/runs/{MISSING_RUN}/tool-calls"), 404, "NOT_FOUND", "Run not found")


@pytest.mark.contract("GET", INPUT, 200)
def test_the_input_of_a_run(http: httpx.Client, runs: Runs, finished_run: str) -> None:
    given = {"city": "Lyon", "days": [1, 2], "nested": {"ok": True}}
    run_id = runs.start("instant", given)
    assert expect_json(http.get(f"/v1/runs/{run_id}/input")) == {"runId": run_id, "input": given}
    started_without = expect_json(http.get(f"/v1/runs/{finished_run}/input"))
    assert started_without == {"runId": finished_run, "input": {}}


@pytest.mark.contract("GET", INPUT, 404)
def test_the_input_of_an_unknown_run(http: httpx.Client) -> None:
    expect_error(http.get(f"/v1/runs/{MISSING_RUN}/input"), 404, "NOT_FOUND", "Run not found")


@pytest.mark.contract("GET", TRANSCRIPT, 200)
def test_a_run_without_agents_has_no_transcript(http: httpx.Client, finished_run: str) -> None:
    assert expect_json(http.get(f"/v1/runs/{finished_run}/transcript")) == []


@pytest.mark.contract("GET", TRANSCRIPT, 404)
def test_the_transcript_of_an_unknown_run(http: httpx.Client) -> None:
    expect_error(http.get(f"/v1/runs/{MISSING_RUN}/transcript"), 404, "NOT_FOUND", "Run not found")
