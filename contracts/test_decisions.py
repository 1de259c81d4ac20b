"""§5 ``POST /v1/runs/{runId}/nodes/{nodeId}/approve`` and ``…/deny``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from contracts.documented import DECISION_PATHS
from contracts.expect import expect_error, expect_json
from contracts.paths import MISSING_RUN, concrete
from contracts.runs import Runs

APPROVE, DENY = DECISION_PATHS
VERBS = {APPROVE: ("approve", "approved"), DENY: ("deny", "denied")}


def each(status: int) -> list[Any]:
    return [
        pytest.param(p, marks=pytest.mark.contract("POST", p, status), id=VERBS[p][0])
        for p in DECISION_PATHS
    ]


@pytest.mark.parametrize("path", each(200))
def test_decision_is_recorded_and_the_run_continues(
    http: httpx.Client, runs: Runs, path: str
) -> None:
    run_id = runs.waiting_approval()
    body = {"note": "looks good", "decidedBy": "contract-suite"}
    answer = expect_json(http.post(concrete(path, run_id=run_id), json=body))
    assert answer == {"runId": run_id, "nodeId": "gate", "iteration": 0, "status": VERBS[path][1]}
    run = runs.wait(run_id, "finished")  # the server resumes it by itself
    assert run["summary"]["finished"] >= 1


@pytest.mark.parametrize("path", each(200))
def test_repeating_the_same_decision_is_idempotent(
    http: httpx.Client, runs: Runs, path: str
) -> None:
    run_id = runs.waiting_approval()
    first = expect_json(http.post(concrete(path, run_id=run_id), json={"iteration": 0}))
    again = expect_json(http.post(concrete(path, run_id=run_id), content=b""))
    assert first == again


@pytest.mark.parametrize("path", each(409))
def test_the_other_decision_afterwards_conflicts(http: httpx.Client, runs: Runs, path: str) -> None:
    run_id = runs.waiting_approval()
    other = DENY if path == APPROVE else APPROVE
    expect_json(http.post(concrete(other, run_id=run_id)))
    expect_error(http.post(concrete(path, run_id=run_id)), 409, "APPROVAL_NOT_PENDING")


@pytest.mark.parametrize("path", each(409))
def test_a_node_not_waiting_for_approval_conflicts(
    http: httpx.Client, runs: Runs, finished_run: str, path: str
) -> None:
    waiting = runs.waiting_approval()
    for run_id, node_id in ((waiting, "after"), (waiting, "no-such-node"), (finished_run, "first")):
        response = http.post(concrete(path, run_id=run_id, node_id=node_id))
        expect_error(response, 409, "APPROVAL_NOT_PENDING")
    response = http.post(concrete(path, run_id=waiting), json={"iteration": 3})
    expect_error(response, 409, "APPROVAL_NOT_PENDING")


@pytest.mark.parametrize("path", each(404))
def test_decision_on_an_unknown_run(http: httpx.Client, path: str) -> None:
    expect_error(http.post(concrete(path), json={}), 404, "NOT_FOUND", "Run not found")


BAD_BODIES = [
    pytest.param({"iteration": -1}, "iteration", id="negative-iteration"),
    pytest.param({"iteration": 1.5}, "iteration", id="fractional-iteration"),
    pytest.param({"iteration": "0"}, "iteration", id="string-iteration"),
    pytest.param({"iteration": None}, "iteration", id="null-iteration"),
    pytest.param({"iteration": True}, "iteration", id="boolean-iteration"),
    pytest.param({"note": 5}, "note", id="number-note"),
    pytest.param({"note": None}, "note", id="null-note"),
    pytest.param({"decidedBy": ["me"]}, "decidedBy", id="list-decidedBy"),
    pytest.param({"decidedBy": None}, "decidedBy", id="null-decidedBy"),
]


@pytest.mark.parametrize("path", each(400))
@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
def test_body_checks_come_before_the_run_lookup(
    http: httpx.Client, path: str, body: dict[str, Any], field: str
) -> None:
    response = http.post(concrete(path, run_id=MISSING_RUN), json=body)
    expect_error(response, 400, "INVALID_REQUEST", mentions=field)


@pytest.mark.parametrize("path", each(400))
def test_invalid_json_before_the_run_lookup(http: httpx.Client, path: str) -> None:
    response = http.post(concrete(path, run_id=MISSING_RUN), content=b"{nope")
    expect_error(response, 400, "INVALID_JSON")
