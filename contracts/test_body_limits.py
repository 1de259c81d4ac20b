"""§2.4: the body — size limit (declared and chunked), empty body, invalid JSON, non-objects."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from contracts.deployment import Deployment
from contracts.documented import DECISION_PATHS, SIGNAL_PATHS
from contracts.expect import expect_error, expect_json
from contracts.paths import concrete
from contracts.runs import Runs

BODY_ROUTES = ("/v1/runs", "/v1/runs/{runId}/resume", *DECISION_PATHS, *SIGNAL_PATHS)

CLOSE = {"Connection": "close"}
"""Sent with oversize bodies: a server that answers before reading a body closes the
connection, so it must not go back to the client's keep-alive pool."""


def expect_too_large(response: httpx.Response, limit: int) -> None:
    """413 PAYLOAD_TOO_LARGE with the limit in the message and in ``details``."""
    message = f"Request body exceeds {limit} bytes"
    expect_error(response, 413, "PAYLOAD_TOO_LARGE", message, details={"maxBytes": limit})


def chunks(total: int, size: int = 65536) -> Iterator[bytes]:
    """A body httpx sends chunked (no Content-Length): ``total`` bytes of a JSON string."""
    yield b'{"pad":"'
    sent = 8
    while sent < total - 2:
        piece = min(size, total - 2 - sent)
        yield b"x" * piece
        sent += piece
    yield b'"}'


@pytest.mark.parametrize(
    "path", [pytest.param(p, marks=pytest.mark.contract("POST", p, 413), id=p) for p in BODY_ROUTES]
)
def test_declared_length_over_the_limit_is_413(
    http: httpx.Client, max_body_bytes: int, path: str
) -> None:
    response = http.post(concrete(path), content=b"{" + b" " * max_body_bytes + b"}", headers=CLOSE)
    expect_too_large(response, max_body_bytes)


@pytest.mark.parametrize(
    "path", [pytest.param(p, marks=pytest.mark.contract("POST", p, 413), id=p) for p in BODY_ROUTES]
)
def test_chunked_body_over_the_limit_is_413(
    http: httpx.Client, max_body_bytes: int, path: str
) -> None:
    request = http.build_request(
        "POST", concrete(path), content=chunks(max_body_bytes + 1), headers=CLOSE
    )
    assert "content-length" not in request.headers
    assert request.headers["transfer-encoding"] == "chunked"
    expect_too_large(http.send(request), max_body_bytes)


def test_413_comes_before_json_parsing(http: httpx.Client, max_body_bytes: int) -> None:
    garbage = b"not json at all " * (max_body_bytes // 16 + 1)
    expect_too_large(http.post("/v1/runs", content=garbage, headers=CLOSE), max_body_bytes)


def _padded_start(deployment: Deployment, size: int) -> bytes:
    """A valid start body of exactly ``size`` bytes (padded with an ignored field)."""
    body = {"workflowPath": deployment.workflow("instant"), "pad": ""}
    base = len(json.dumps(body, separators=(",", ":")))
    body["pad"] = "x" * (size - base)
    encoded = json.dumps(body, separators=(",", ":")).encode()
    assert len(encoded) == size
    return encoded


@pytest.mark.contract("POST", "/v1/runs", 200)
def test_exactly_the_limit_is_accepted(
    http: httpx.Client, deployment: Deployment, runs: Runs, max_body_bytes: int
) -> None:
    exact = _padded_start(deployment, max_body_bytes)
    runs.started.append(expect_json(http.post("/v1/runs", content=exact))["runId"])
    over = _padded_start(deployment, max_body_bytes + 1)
    expect_too_large(http.post("/v1/runs", content=over, headers=CLOSE), max_body_bytes)


def test_exactly_the_limit_is_accepted_chunked(
    http: httpx.Client, deployment: Deployment, runs: Runs, max_body_bytes: int
) -> None:
    exact = _padded_start(deployment, max_body_bytes)
    request = http.build_request("POST", "/v1/runs", content=iter([exact[:10], exact[10:]]))
    assert "content-length" not in request.headers
    runs.started.append(expect_json(http.send(request))["runId"])


@pytest.mark.contract("POST", "/v1/runs", 400)
@pytest.mark.parametrize("body", [b"{", b"{'a': 1}", b"nul", b'{"workflowPath": "x",}'])
def test_invalid_json_is_400_invalid_json(http: httpx.Client, body: bytes) -> None:
    expect_error(http.post("/v1/runs", content=body), 400, "INVALID_JSON")


@pytest.mark.parametrize("path", BODY_ROUTES)
@pytest.mark.parametrize("body", [b"[]", b'"text"', b"1", b"null", b"true"])
def test_non_object_json_is_400_invalid_request(http: httpx.Client, path: str, body: bytes) -> None:
    response = http.post(concrete(path), content=body)
    expect_error(response, 400, "INVALID_REQUEST", "request body must be a JSON object")


def test_empty_body_means_empty_object(http: httpx.Client) -> None:
    # {} lacks workflowPath, so the start is refused for that field, not for the body
    response = http.post("/v1/runs", content=b"")
    expect_error(response, 400, "INVALID_REQUEST", "workflowPath must be a string")
