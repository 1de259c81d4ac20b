"""§4: an integer field of a JSON body takes any whole number, however it is spelled.

The OpenAPI document (3.1, whose schemas are JSON Schema 2020-12) types ``iteration`` and
``config.maxConcurrency`` as ``integer``, which JSON Schema defines as a number with a zero
fractional part: ``454``, ``454.0`` and ``4.54e2`` are the same integer, and a client (or a
JSON library) may send any of them. What the document admits, the server accepts; a fraction,
a string or a boolean is still refused. Query parameters and headers are text: their integers
are decimal digits (``test_integer_bounds.py``).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from contracts.deployment import Deployment
from contracts.documented import DECISION_PATHS
from contracts.expect import expect_error, expect_json
from contracts.paths import concrete
from contracts.runs import Runs

APPROVE, DENY = DECISION_PATHS
VERBS = {APPROVE: "approved", DENY: "denied"}


def each(status: int) -> list[Any]:
    return [
        pytest.param(p, marks=pytest.mark.contract("POST", p, status), id=p.rsplit("/", 1)[-1])
        for p in DECISION_PATHS
    ]


@pytest.mark.parametrize("path", each(200))
@pytest.mark.parametrize("spelled", [b"0.0", b"0e3", b"-0.0"])
def test_a_whole_float_iteration_decides(
    http: httpx.Client, runs: Runs, path: str, spelled: bytes
) -> None:
    run_id = runs.waiting_approval()
    response = http.post(concrete(path, run_id=run_id), content=b'{"iteration":%s}' % spelled)
    answer = expect_json(response)
    assert answer == {"runId": run_id, "nodeId": "gate", "iteration": 0, "status": VERBS[path]}
    assert type(answer["iteration"]) is int  # answered as the integer it is: 0, not 0.0
    runs.wait(run_id, "finished")


@pytest.mark.parametrize("path", each(409))
def test_a_whole_float_iteration_is_checked_like_an_integer(
    http: httpx.Client, finished_run: str, path: str
) -> None:
    url = concrete(path, run_id=finished_run)
    for spelled in (b"454.0", b"4.54e2", b"9.2e18"):  # valid bodies: no node waits there
        response = http.post(url, content=b'{"iteration":%s}' % spelled)
        expect_error(response, 409, "APPROVAL_NOT_PENDING")
    for spelled, message in (
        (b"454.5", "iteration must be a non-negative integer"),
        (b"1e-3", "iteration must be a non-negative integer"),
        (b"-1.0", "iteration must be a non-negative integer"),
        (b"1e19", "iteration must be at most 9223372036854775807"),
    ):
        response = http.post(url, content=b'{"iteration":%s}' % spelled)
        expect_error(response, 400, "INVALID_REQUEST", message)


def _start_body(deployment: Deployment, max_concurrency: bytes) -> bytes:
    workflow = deployment.workflow("instant").encode()
    return b'{"workflowPath":"%s","config":{"maxConcurrency":%s}}' % (workflow, max_concurrency)


@pytest.mark.contract("POST", "/v1/runs", 200)
@pytest.mark.contract("POST", "/v1/runs", 400)
def test_a_whole_float_max_concurrency_starts_the_run(
    http: httpx.Client, deployment: Deployment, runs: Runs
) -> None:
    run_id = expect_json(http.post("/v1/runs", content=_start_body(deployment, b"2.0")))["runId"]
    runs.started.append(run_id)
    runs.wait(run_id, "finished")
    for spelled in (b"2.5", b"0.0", b"5e-1", b"1e19"):
        response = http.post("/v1/runs", content=_start_body(deployment, spelled))
        expect_error(response, 400, "INVALID_REQUEST", mentions="config.maxConcurrency")


@pytest.mark.contract("POST", "/v1/runs/{runId}/resume", 200)
def test_a_whole_float_max_concurrency_resumes_the_run(
    http: httpx.Client, finished_run: str
) -> None:
    body = b'{"config":{"maxConcurrency":3e0}}'
    answer = expect_json(http.post(f"/v1/runs/{finished_run}/resume", content=body))
    assert answer == {"runId": finished_run}
