"""§5 ``GET /v1/runs/{runId}/events``: Server-Sent Events."""

from __future__ import annotations

import threading

import httpx
import pytest

from contracts.expect import assert_sse_headers, expect_error
from contracts.paths import MISSING_RUN
from contracts.runs import Runs
from contracts.sse import RawStream, read_stream

EVENTS = "/v1/runs/{runId}/events"
TERMINAL_EVENTS = {"RunFinished", "RunFailed", "RunCancelled", "RunContinuedAsNew"}


def assert_complete(stream: RawStream, run_id: str, first_seq: int = 0) -> None:
    """Headers, the leading retry block, dense seqs from ``first_seq``, a terminal last event."""
    assert stream.response.status_code == 200
    assert_sse_headers(stream.response)
    assert stream.blocks[0] == "retry: 1000"
    events = stream.events
    assert [e.seq for e in events] == list(range(first_seq, first_seq + len(events)))
    for event in events:
        assert event.data["runId"] == run_id and isinstance(event.data["type"], str)
    assert events and events[-1].data["type"] in TERMINAL_EVENTS
    assert stream.ended


@pytest.mark.contract("GET", EVENTS, 200)
def test_stream_of_a_finished_run(http: httpx.Client, finished_run: str) -> None:
    stream = read_stream(http, finished_run)
    assert_complete(stream, finished_run)
    assert stream.events[0].data["type"] == "RunStarted"
    assert stream.events[-1].data["type"] == "RunFinished"


@pytest.mark.contract("GET", EVENTS, 200)
def test_after_seq_and_last_event_id_resume_exactly(http: httpx.Client, finished_run: str) -> None:
    every = read_stream(http, finished_run).events
    middle = every[len(every) // 2].seq
    by_query = read_stream(http, finished_run, params={"afterSeq": str(middle)})
    by_header = read_stream(http, finished_run, headers={"Last-Event-ID": str(middle)})
    query_wins = read_stream(
        http, finished_run, params={"afterSeq": str(middle)}, headers={"Last-Event-ID": "0"}
    )
    for stream in (by_query, by_header, query_wins):
        assert_complete(stream, finished_run, first_seq=middle + 1)
        assert [e.data for e in stream.events] == [e.data for e in every if e.seq > middle]
    explicit_default = read_stream(http, finished_run, params={"afterSeq": "-1"})
    assert [e.seq for e in explicit_default.events] == [e.seq for e in every]


def test_after_the_last_event_only_retry_then_end(http: httpx.Client, finished_run: str) -> None:
    last = read_stream(http, finished_run).events[-1].seq
    stream = read_stream(http, finished_run, params={"afterSeq": str(last)})
    assert stream.blocks == ["retry: 1000"] and stream.ended


@pytest.mark.contract("GET", EVENTS, 200)
def test_live_events_until_the_run_ends(http: httpx.Client, runs: Runs) -> None:
    run_id = runs.waiting_approval()
    opened = threading.Event()
    result: list[RawStream] = []

    def follow() -> None:
        def stop(blocks: list[str]) -> bool:
            opened.set()
            return False

        result.append(read_stream(http, run_id, stop=stop))

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    assert opened.wait(10), "the stream did not start"
    response = http.post(f"/v1/runs/{run_id}/nodes/gate/approve", json={})
    assert response.status_code == 200, response.text
    reader.join(20)
    assert not reader.is_alive(), "the stream did not end after the run finished"
    assert_complete(result[0], run_id)
    types = [e.data["type"] for e in result[0].events]
    assert "ApprovalGranted" in types and types[-1] == "RunFinished"


@pytest.mark.contract("GET", EVENTS, 200)
def test_keep_alive_comment_on_a_quiet_stream(http: httpx.Client, runs: Runs) -> None:
    run_id = runs.waiting_signal()
    stream = read_stream(http, run_id, stop=lambda blocks: blocks[-1] == ": keep-alive")
    assert stream.blocks[-1] == ": keep-alive" and not stream.ended
    assert_sse_headers(stream.response)


@pytest.mark.contract("GET", EVENTS, 400)
@pytest.mark.parametrize("raw", ["", "abc", "1.5", "1e3", "--1"])
def test_malformed_after_seq_is_400_before_the_stream(
    http: httpx.Client, finished_run: str, raw: str
) -> None:
    for run_id in (finished_run, MISSING_RUN):  # the query is checked before the run
        stream = read_stream(http, run_id, params={"afterSeq": raw})
        expect_error(stream.response, 400, "INVALID_REQUEST", f'Expected an integer, got "{raw}"')


@pytest.mark.contract("GET", EVENTS, 400)
@pytest.mark.parametrize("raw", ["", "abc", "1.5", "1e3", "--1", "+5", "12 34"])
@pytest.mark.parametrize("after_seq", [None, "-1", "3"])
def test_malformed_last_event_id_is_400_with_or_without_after_seq(
    http: httpx.Client, finished_run: str, raw: str, after_seq: str | None
) -> None:
    """The spec uses the header when ``afterSeq`` is absent and says nothing of a malformed
    one next to it: Smithers refuses it either way (docs/http-api.md), before the run."""
    params = {} if after_seq is None else {"afterSeq": after_seq}
    for run_id in (finished_run, MISSING_RUN):
        stream = read_stream(http, run_id, params=params, headers={"Last-Event-ID": raw})
        message = f'Last-Event-ID must be an integer, got "{raw}"'
        expect_error(stream.response, 400, "INVALID_REQUEST", message)


@pytest.mark.contract("GET", EVENTS, 400)
def test_last_event_id_beyond_64_bits_next_to_after_seq(
    http: httpx.Client, finished_run: str
) -> None:
    headers = {"Last-Event-ID": str(2**63)}
    stream = read_stream(http, finished_run, params={"afterSeq": "0"}, headers=headers)
    expect_error(stream.response, 400, "INVALID_REQUEST", mentions="Last-Event-ID")
    # both malformed: the query comes first (auth, query, header, run)
    headers = {"Last-Event-ID": "abc"}
    stream = read_stream(http, finished_run, params={"afterSeq": "x"}, headers=headers)
    expect_error(stream.response, 400, "INVALID_REQUEST", 'Expected an integer, got "x"')


@pytest.mark.contract("GET", EVENTS, 404)
def test_stream_of_an_unknown_run(http: httpx.Client) -> None:
    stream = read_stream(http, MISSING_RUN)
    expect_error(stream.response, 404, "NOT_FOUND", "Run not found")


@pytest.mark.contract("GET", EVENTS, 200)
def test_a_logged_line_arrives_with_every_field(http: httpx.Client, runs: Runs) -> None:
    run_id = runs.start("talking")
    outputs = [e.data for e in read_stream(http, run_id).events if e.data["type"] == "NodeOutput"]
    assert len(outputs) == 1
    assert {k: outputs[0][k] for k in ("nodeId", "iteration", "attempt", "text", "stream")} == {
        "nodeId": "speak",
        "iteration": 0,
        "attempt": 1,
        "text": "hello from the task",
        "stream": "stdout",
    }
