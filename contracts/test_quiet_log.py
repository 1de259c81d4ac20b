"""§2.5: tracebacks are for server faults; refusing a malformed request logs nothing."""

from __future__ import annotations

import httpx
import pytest

from contracts.deployment import Deployment
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
