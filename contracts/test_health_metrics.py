"""§2.1 ``GET /health`` and §6 ``GET /metrics``."""

from __future__ import annotations

import re

import httpx
import pytest

from contracts.expect import METRICS_TYPE, expect_json
from contracts.paths import concrete

REQUIRED_FAMILIES = (
    "smithers_http_requests_total",
    "smithers_http_request_duration_ms",
    "smithers_runs_total",
    "smithers_runs_finished_total",
    "smithers_runs_failed_total",
    "smithers_runs_cancelled_total",
    "smithers_runs_resumed_total",
    "smithers_runs_active",
    "smithers_nodes_started_total",
    "smithers_nodes_finished_total",
    "smithers_nodes_failed_total",
    "smithers_node_retries_total",
    "smithers_nodes_active",
    "smithers_approvals_requested_total",
    "smithers_approvals_granted_total",
    "smithers_approvals_denied_total",
    "smithers_approval_pending",
    "smithers_events_emitted_total",
    "smithers_run_duration_ms",
    "smithers_node_duration_ms",
    "smithers_sse_subscribers",
)


@pytest.mark.contract("GET", "/health", 200)
def test_health_is_ok_without_auth(anon: httpx.Client) -> None:
    assert expect_json(anon.get("/health")) == {"ok": True}


def _metrics(http: httpx.Client) -> str:
    response = http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == METRICS_TYPE
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    return response.text


@pytest.mark.contract("GET", "/metrics", 200)
def test_metrics_exposes_the_required_families(http: httpx.Client, finished_run: str) -> None:
    text = _metrics(http)
    declared = set(re.findall(r"^# TYPE (\S+) ", text, re.MULTILINE))
    samples = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line[:1] != "#"}
    for family in REQUIRED_FAMILIES:
        base = family.removesuffix("_total")
        assert base in declared or family in declared or family in samples, family


def test_http_metrics_label_the_route_template(http: httpx.Client, finished_run: str) -> None:
    http.get(concrete("/v1/runs/{runId}", run_id=finished_run))
    http.get("/no/such/route")
    text = _metrics(http)
    requests = [
        line for line in text.splitlines() if line.startswith("smithers_http_requests_total{")
    ]
    assert any('route="/v1/runs/{runId}"' in line for line in requests), requests
    assert any('route="unmatched"' in line for line in requests), requests
    assert not any(finished_run in line for line in requests), "raw paths must not be labels"
    for line in requests:
        assert re.search(r'method="[A-Z]+"', line) and re.search(r'status_code="\d{3}"', line)
