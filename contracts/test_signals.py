"""§5 ``POST /v1/runs/{runId}/signals/{signalName}`` and its legacy alias."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from contracts.documented import SIGNAL_PATHS
from contracts.expect import expect_error, expect_json
from contracts.paths import MISSING_RUN, concrete
from contracts.runs import Runs

RESPONSE_KEYS = {"delivered", "runId", "seq", "signalName", "correlationId", "receivedAtMs"}


def each(status: int) -> list[Any]:
    return [
        pytest.param(p, marks=pytest.mark.contract("POST", p, status), id=p) for p in SIGNAL_PATHS
    ]


@pytest.mark.parametrize("path", each(200))
def test_signal_is_delivered_and_the_run_continues(
    http: httpx.Client, runs: Runs, path: str
) -> None:
    run_id = runs.waiting_signal()
    body = {"data": {"answer": 42}, "receivedBy": "contract-suite"}
    answer = expect_json(http.post(concrete(path, run_id=run_id, signal="go"), json=body))
    assert set(answer) == RESPONSE_KEYS
    assert answer["delivered"] is True and answer["runId"] == run_id
    assert answer["signalName"] == "go" and answer["correlationId"] is None
    assert isinstance(answer["seq"], int) and isinstance(answer["receivedAtMs"], int)
    runs.wait(run_id, "finished")


@pytest.mark.parametrize("path", each(200))
def test_signal_is_stored_whatever_the_status(http: httpx.Client, runs: Runs, path: str) -> None:
    run_id = runs.finished()
    first = expect_json(
        http.post(concrete(path, run_id=run_id, signal="unheard"), json={"data": None})
    )
    second = expect_json(
        http.post(concrete(path, run_id=run_id, signal="unheard"), json={"correlationId": "c-1"})
    )
    assert first["delivered"] is False and second["delivered"] is False
    assert second["seq"] > first["seq"] and second["correlationId"] == "c-1"


@pytest.mark.parametrize("path", each(200))
def test_signal_name_is_decoded_and_trimmed(http: httpx.Client, runs: Runs, path: str) -> None:
    run_id = runs.waiting_signal()
    template = path.replace("{signalName}", "%20%67o%20")
    answer = expect_json(http.post(concrete(template, run_id=run_id), content=b""))
    assert answer["signalName"] == "go" and answer["delivered"] is True
    runs.wait(run_id, "finished")


@pytest.mark.parametrize("path", each(400))
@pytest.mark.parametrize("name", ["%20", "%20%20%09"])
def test_blank_signal_name(http: httpx.Client, finished_run: str, path: str, name: str) -> None:
    template = path.replace("{signalName}", name)
    response = http.post(concrete(template, run_id=finished_run), json={})
    expect_error(response, 400, "INVALID_REQUEST", mentions="signalName")


MAX_NAME = 256
"""Characters of a signal name as sent, as for a run id (docs/http-api.md)."""


@pytest.mark.parametrize("path", each(400))
@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("a%00b", "U+0000"),
        ("%00", "U+0000"),
        ("a%09b", "U+0009"),
        ("a%0Ab", "U+000A"),
        ("a%7Fb", "U+007F"),
        ("a%C2%85b", "U+0085"),
        ("%1Bgo", "U+001B"),
    ],
)
def test_signal_name_with_a_control_character(
    http: httpx.Client, finished_run: str, path: str, name: str, code: str
) -> None:
    for run_id in (finished_run, MISSING_RUN):  # the name is checked before the run
        template = path.replace("{signalName}", name)
        response = http.post(concrete(template, run_id=run_id), json={})
        error = expect_error(response, 400, "INVALID_REQUEST", mentions="signalName")
        assert "control character" in error["message"] and code in error["message"], error


@pytest.mark.parametrize("path", each(400))
def test_signal_name_beyond_the_limit(http: httpx.Client, runs: Runs, path: str) -> None:
    run_id = runs.finished()  # a run of its own: the longest name is stored with it
    longest = path.replace("{signalName}", "n" * MAX_NAME)
    answer = expect_json(http.post(concrete(longest, run_id=run_id), json={}))
    assert answer["signalName"] == "n" * MAX_NAME
    for length in (MAX_NAME + 1, 10_000):
        for target in (run_id, MISSING_RUN):  # the name is checked before the run
            template = path.replace("{signalName}", "n" * length)
            response = http.post(concrete(template, run_id=target), json={})
            message = f"signalName must be at most {MAX_NAME} characters, got {length}"
            expect_error(response, 400, "INVALID_REQUEST", message)


@pytest.mark.parametrize("path", each(400))
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"correlationId": 1}, "correlationId"),
        ({"correlationId": None}, "correlationId"),
        ({"receivedBy": {}}, "receivedBy"),
        ({"receivedBy": None}, "receivedBy"),
    ],
)
def test_signal_field_errors(
    http: httpx.Client, finished_run: str, path: str, body: dict[str, Any], field: str
) -> None:
    response = http.post(concrete(path, run_id=finished_run), json=body)
    expect_error(response, 400, "INVALID_REQUEST", mentions=field)


@pytest.mark.parametrize("path", each(404))
def test_signal_to_an_unknown_run(http: httpx.Client, path: str) -> None:
    response = http.post(concrete(path, run_id=MISSING_RUN), json={})
    expect_error(response, 404, "NOT_FOUND", "Run not found")
