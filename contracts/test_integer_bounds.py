"""§4: integers the server cannot store, or spelled with more than digits, are 400s.

Stored integers are 64-bit signed; a value outside that range is refused with a message
naming the field, before any stream starts, rather than failing in the database (500, or a
stream cut after its first block).
"""

from __future__ import annotations

import httpx
import pytest

from contracts.documented import DECISION_PATHS
from contracts.expect import expect_error, expect_json
from contracts.paths import concrete
from contracts.sse import read_stream

INT64_MAX = 2**63 - 1
HUGE = str(2**70)
DIGITS = "1" * 5_000
EVENTS = "/v1/runs/{runId}/events"
FRAMES = "/v1/runs/{runId}/frames"


@pytest.mark.parametrize("path", DECISION_PATHS)
@pytest.mark.parametrize("iteration", [2**63, 2**70])
def test_an_iteration_beyond_64_bits(
    http: httpx.Client, finished_run: str, path: str, iteration: int
) -> None:
    response = http.post(concrete(path, finished_run), json={"iteration": iteration})
    expect_error(response, 400, "INVALID_REQUEST", mentions="iteration")


@pytest.mark.contract("POST", "/v1/runs/{runId}/nodes/{nodeId}/approve", 409)
def test_the_largest_iteration_is_a_valid_request(http: httpx.Client, finished_run: str) -> None:
    path = concrete(DECISION_PATHS[0], finished_run)
    expect_error(http.post(path, json={"iteration": INT64_MAX}), 409, "APPROVAL_NOT_PENDING")


def test_max_concurrency_beyond_64_bits(http: httpx.Client) -> None:
    body = {"workflowPath": "x.py", "config": {"maxConcurrency": 2**70}}
    response = http.post("/v1/runs", json=body)
    expect_error(response, 400, "INVALID_REQUEST", mentions="config.maxConcurrency")


@pytest.mark.contract("GET", FRAMES, 400)
@pytest.mark.parametrize("raw", [HUGE, "-" + HUGE, str(2**63), str(-(2**63) - 1), DIGITS])
def test_after_frame_no_beyond_64_bits(http: httpx.Client, finished_run: str, raw: str) -> None:
    response = http.get(concrete(FRAMES, finished_run), params={"afterFrameNo": raw})
    expect_error(response, 400, "INVALID_REQUEST", mentions="afterFrameNo")


@pytest.mark.contract("GET", FRAMES, 200)
@pytest.mark.parametrize("raw", [str(INT64_MAX), str(-(2**63))])
def test_after_frame_no_at_the_bounds(http: httpx.Client, finished_run: str, raw: str) -> None:
    response = http.get(concrete(FRAMES, finished_run), params={"afterFrameNo": raw})
    frames = expect_json(response)
    assert isinstance(frames, list)
    if raw == str(INT64_MAX):
        assert frames == []


@pytest.mark.parametrize("path", ["/v1/runs", FRAMES])
@pytest.mark.parametrize("raw", [DIGITS, "5\n", "\n5", "5 ", "+5", "5_0", "٥"])
def test_limit_with_more_than_digits(
    http: httpx.Client, finished_run: str, path: str, raw: str
) -> None:
    response = http.get(concrete(path, finished_run), params={"limit": raw})
    expect_error(response, 400, "INVALID_REQUEST")
    assert response.json()["error"]["message"].startswith("Expected a positive integer, got")


@pytest.mark.contract("GET", EVENTS, 400)
@pytest.mark.parametrize("raw", [str(2**63), HUGE, "-" + HUGE, DIGITS])
def test_after_seq_beyond_64_bits_is_refused_before_the_stream(
    http: httpx.Client, finished_run: str, raw: str
) -> None:
    stream = read_stream(http, finished_run, params={"afterSeq": raw})
    expect_error(stream.response, 400, "INVALID_REQUEST", mentions="afterSeq")


@pytest.mark.contract("GET", EVENTS, 400)
def test_last_event_id_beyond_64_bits(http: httpx.Client, finished_run: str) -> None:
    stream = read_stream(http, finished_run, headers={"Last-Event-ID": str(2**63)})
    expect_error(stream.response, 400, "INVALID_REQUEST", mentions="Last-Event-ID")


@pytest.mark.parametrize("raw", ["5\n", "-1\n"])
def test_after_seq_with_a_final_newline(http: httpx.Client, finished_run: str, raw: str) -> None:
    stream = read_stream(http, finished_run, params={"afterSeq": raw})
    expect_error(stream.response, 400, "INVALID_REQUEST")


@pytest.mark.contract("GET", EVENTS, 200)
def test_the_largest_after_seq_streams_nothing_and_ends(
    http: httpx.Client, finished_run: str
) -> None:
    stream = read_stream(http, finished_run, params={"afterSeq": str(INT64_MAX)})
    assert stream.response.status_code == 200
    assert stream.blocks == ["retry: 1000"] and stream.ended


def test_a_run_id_with_a_final_newline(http: httpx.Client) -> None:
    response = http.post("/v1/runs", json={"workflowPath": "x.py", "runId": "abc\n"})
    expect_error(response, 400, "INVALID_REQUEST", mentions="runId")
