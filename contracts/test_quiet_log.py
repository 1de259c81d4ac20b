"""§2.5: tracebacks are for server faults; refusing a malformed request logs nothing."""

from __future__ import annotations

import time

import httpx
import pytest

from contracts.deployment import Deployment
from contracts.expect import expect_error
from contracts.paths import concrete

BAD_REQUESTS: list[tuple[str, str, dict[str, str], bytes]] = [
    ("POST", "/v1/runs", {}, b"[" * 100_000 + b"]" * 100_000),
    ("POST", "/v1/runs", {}, b'{"workflowPath":"\xff"}'),
    ("POST", "/v1/runs", {}, b'{"workflowPath":"a\\u0000.py"}'),
    ("POST", "/v1/runs", {}, b'{"workflowPath":"%s.py"}' % (b"a" * 300)),
    ("POST", "/v1/runs", {}, b'{"workflowPath":"x.py","runId":"a\\n"}'),
    (
        "POST",
        "/v1/runs/{runId}/nodes/{nodeId}/approve",
        {},
        b'{"iteration":1180591620717411303424}',
    ),
    ("GET", "/v1/runs", {"limit": "1" * 5_000}, b""),
    ("GET", "/v1/runs/{runId}/frames", {"afterFrameNo": str(2**70)}, b""),
    ("GET", "/v1/runs/{runId}/events", {"afterSeq": str(2**63)}, b""),
    ("OPTIONS", "/v1/runs", {}, b""),
    ("PUT", "/v1/runs", {}, b""),
    ("GET", "/no/such/route", {}, b""),
]


def _written_since(deployment: Deployment, offset: int) -> str:
    assert deployment.log_path is not None
    with deployment.log_path.open("rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")


@pytest.mark.contract("POST", "/v1/runs", 500)
def test_a_database_that_cannot_open_is_one_line_not_a_traceback(
    http: httpx.Client, deployment: Deployment
) -> None:
    """The one 500 a client can provoke (a workflow pinning a database that cannot be opened)
    is the server's fault, worth a log line: one, with the reason, and no traceback however
    often it is asked for (lines repeated within a minute are left out)."""
    if deployment.log_path is None:
        pytest.skip("the server's output is only known when the suite started it")
    before = deployment.log_path.stat().st_size
    body = {"workflowPath": deployment.workflow("unopenable_db")}
    for _ in range(3):
        error = expect_error(http.post("/v1/runs", json=body), 500, "SERVER_ERROR")
        assert "unable to open database file" in error["message"], error  # SQLite's reason
    time.sleep(0.2)  # what the worker wrote reaches the file
    written = _written_since(deployment, before)
    assert "Traceback" not in written, written[:4000]
    lines = [line for line in written.splitlines() if "database" in line]
    assert len(lines) <= 1, lines  # none when an earlier test made it log the same line
    assert all("unable to open database file" in line for line in lines), lines


def test_refused_requests_write_no_traceback(
    http: httpx.Client, deployment: Deployment, finished_run: str
) -> None:
    if deployment.log_path is None:
        pytest.skip("the server's output is only known when the suite started it")
    before = deployment.log_path.stat().st_size
    for method, path, params, body in BAD_REQUESTS:
        response = http.request(
            method, concrete(path, finished_run), params=params, content=body or None
        )
        assert 400 <= response.status_code < 500, (method, path, response.text)
    with deployment.log_path.open("rb") as log:
        log.seek(before)
        written = log.read().decode(errors="replace")
    assert "Traceback" not in written, written[:4000]
