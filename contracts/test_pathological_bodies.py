"""§2.4, §4: pathological bodies — too deep to parse, not UTF-8 — are 400s with the envelope."""

from __future__ import annotations

import time

import httpx
import pytest

from contracts.deployment import Deployment
from contracts.expect import expect_error, expect_json
from contracts.paths import concrete
from contracts.runs import Runs
from contracts.test_body_limits import BODY_ROUTES

DEEP = 100_000


def nested(depth: int, opening: bytes = b"[", closing: bytes = b"]") -> bytes:
    return opening * depth + closing * depth


def nested_objects(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize("path", BODY_ROUTES)
def test_a_deeply_nested_array_body_is_not_an_object(http: httpx.Client, path: str) -> None:
    response = http.post(concrete(path), content=nested(DEEP))
    expect_error(response, 400, "INVALID_REQUEST", "request body must be a JSON object")
    assert expect_json(http.get("/health")) == {"ok": True}


@pytest.mark.parametrize("path", ["/v1/runs", "/v1/runs/{runId}/resume"])
def test_an_input_nested_beyond_the_parser_keeps_the_depth_rule(
    http: httpx.Client, deployment: Deployment, path: str
) -> None:
    body = (
        b'{"workflowPath":"%s","input":' % deployment.workflow("instant").encode()
        + nested_objects(5_000)
        + b"}"
    )
    response = http.post(concrete(path), content=body)
    expect_error(response, 400, "INVALID_REQUEST", "input is nested deeper than 16 levels")


def test_an_input_just_over_the_depth_rule(
    http: httpx.Client, deployment: Deployment, runs: Runs
) -> None:
    run_input = b'{"a":' * 16 + b"{}" + b"}" * 16
    body = b'{"workflowPath":"%s","input":%s}' % (
        deployment.workflow("instant").encode(),
        run_input,
    )
    response = http.post("/v1/runs", content=body)
    expect_error(response, 400, "INVALID_REQUEST", "input is nested deeper than 16 levels")
    runs.finished()  # and the server still runs workflows


def test_deeply_nested_signal_data_names_the_field(http: httpx.Client) -> None:
    body = b'{"data":' + nested(DEEP) + b"}"
    response = http.post(concrete("/v1/runs/{runId}/signals/{signalName}"), content=body)
    expect_error(response, 400, "INVALID_REQUEST", mentions="data")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"data":' + b"[" * DEEP, id="truncated"),
        pytest.param(b'{"data":' + b"[" * DEEP + b"}" * DEEP + b"}", id="mismatched"),
    ],
)
def test_deep_and_malformed_is_invalid_json(http: httpx.Client, body: bytes) -> None:
    response = http.post(concrete("/v1/runs/{runId}/signals/{signalName}"), content=body)
    expect_error(response, 400, "INVALID_JSON")


@pytest.mark.parametrize("path", BODY_ROUTES)
@pytest.mark.parametrize(
    "body", [b'{"workflowPath":"\xff"}', b'{"note":"\xc3\x28"}', b'{"\xfe":1}'], ids=str
)
def test_a_body_that_is_not_utf8_is_invalid_json(
    http: httpx.Client, path: str, body: bytes
) -> None:
    expect_error(http.post(concrete(path), content=body), 400, "INVALID_JSON")


def test_an_unterminated_string_in_a_deep_body_is_answered_at_once(http: httpx.Client) -> None:
    # every later quote of "\"\"\"… starts a string that never ends: the scan must stay linear
    body = b'{"data":' + b"[" * 2_000 + b'"' + b'\\"' * 400_000
    started = time.monotonic()
    response = http.post(concrete("/v1/runs/{runId}/signals/{signalName}"), content=body)
    expect_error(response, 400, "INVALID_JSON")
    assert time.monotonic() - started < 5
