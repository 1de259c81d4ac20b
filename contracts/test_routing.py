"""§2.3: routing — unknown paths, wrong methods, exact paths, percent-decoded parameters."""

from __future__ import annotations

import json
from http.client import HTTPConnection
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from contracts.conftest import REQUEST_TIMEOUT
from contracts.deployment import Deployment
from contracts.documented import OPERATIONS, UNMATCHED
from contracts.expect import expect_error, expect_json
from contracts.paths import concrete
from contracts.runs import Runs, new_run_id

ROUTE_NOT_FOUND = "Route not found"


@pytest.mark.contract("GET", UNMATCHED, 404)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/no/such/route"),
        ("POST", "/v2/runs"),
        ("GET", "/v1/runs/"),  # a trailing slash is a different path
        ("GET", "/health/"),
        ("POST", "/v1/runs/"),
        ("GET", "/V1/runs"),  # paths are case-sensitive
        ("GET", "/v1/runs/x/y/z"),
    ],
)
def test_unknown_route_is_404(http: httpx.Client, method: str, path: str) -> None:
    expect_error(http.request(method, path), 404, "NOT_FOUND", ROUTE_NOT_FOUND)


def _methods_of(path: str) -> set[str]:
    return {method for method, other in OPERATIONS if other == path}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param(m, p, marks=pytest.mark.contract(m, p, 405), id=f"{m} {p}")
        for m, p in OPERATIONS
    ],
)
@pytest.mark.parametrize("wrong", ["PUT", "DELETE", "PATCH", "OPTIONS"])
def test_wrong_method_is_405_with_allow(
    http: httpx.Client, method: str, path: str, wrong: str
) -> None:
    # OPTIONS too: the contract has no OPTIONS route (no CORS); Allow is the path's full set
    response = http.request(wrong, concrete(path))
    expect_error(response, 405, "METHOD_NOT_ALLOWED")
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert allowed == _methods_of(path), allowed


def _raw_get(deployment: Deployment, path: str) -> tuple[int, dict[str, Any]]:
    """GET ``path`` sent byte for byte (HTTP clients normalize paths such as ``//x``)."""
    url = urlsplit(deployment.base_url)
    connection = HTTPConnection(url.hostname or "", url.port, timeout=REQUEST_TIMEOUT)
    try:
        connection.putrequest("GET", path, skip_accept_encoding=True)
        connection.putheader("Authorization", f"Bearer {deployment.token}")
        connection.endheaders()
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.contract("GET", UNMATCHED, 404)
@pytest.mark.parametrize("path", ["//v1/runs", "/v1//runs", "/v1/runs//x", "//health", "//"])
def test_empty_path_segments_are_not_routes(deployment: Deployment, path: str) -> None:
    status, body = _raw_get(deployment, path)
    assert (status, body) == (404, {"error": {"code": "NOT_FOUND", "message": ROUTE_NOT_FOUND}})


def test_post_to_a_get_route_is_405(http: httpx.Client) -> None:
    response = http.post(concrete("/v1/runs/{runId}/frames"))
    expect_error(response, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in response.headers["allow"]


@pytest.mark.contract("GET", "/v1/runs/{runId}", 200)
def test_path_parameters_are_percent_decoded(http: httpx.Client, runs: Runs) -> None:
    run_id = new_run_id("pct") + ":a.b"
    runs.start("instant", run_id=run_id)
    literal = f"/v1/runs/{run_id}"
    encoded = "/v1/runs/%63" + run_id[1:].replace(":", "%3A").replace(".", "%2E")
    for path in (literal, encoded):
        assert expect_json(http.get(path))["runId"] == run_id
