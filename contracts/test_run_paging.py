"""``GET /v1/runs`` filtered by workflow and paged with ``before``, and ``GET /v1/run-counts``
(Smithers' additions to the listing, for the console and any client: docs/http-api.md)."""

from __future__ import annotations

import re

import httpx
import pytest

from contracts.expect import expect_error, expect_json
from contracts.runs import Runs

RUNS = "/v1/runs"
COUNTS = "/v1/run-counts"


def _cursor(run: dict) -> str:  # type: ignore[type-arg]
    return f"{run['createdAtMs']}:{run['runId']}"


@pytest.mark.contract("GET", RUNS, 200)
def test_runs_of_one_workflow(http: httpx.Client, runs: Runs) -> None:
    talked = runs.start("talking")
    runs.start("instant")
    runs.wait(talked, "finished")
    listed = expect_json(http.get(RUNS, params={"workflow": "contract-talking", "limit": 1000}))
    assert talked in [r["runId"] for r in listed]
    assert {r["workflowName"] for r in listed} == {"contract-talking"}
    assert expect_json(http.get(RUNS, params={"workflow": "contract-no-such-workflow"})) == []


@pytest.mark.contract("GET", RUNS, 200)
def test_pages_follow_one_another(http: httpx.Client, runs: Runs) -> None:
    for _ in range(5):
        runs.start("instant")
    whole = expect_json(http.get(RUNS, params={"limit": 6}))
    first = expect_json(http.get(RUNS, params={"limit": 2}))
    second = expect_json(http.get(RUNS, params={"limit": 2, "before": _cursor(first[-1])}))
    third = expect_json(http.get(RUNS, params={"limit": 2, "before": _cursor(second[-1])}))
    assert [r["runId"] for r in first + second + third] == [r["runId"] for r in whole]
    keys = [(r["createdAtMs"], r["runId"]) for r in whole]
    assert keys == sorted(keys, reverse=True)


@pytest.mark.contract("GET", RUNS, 400)
@pytest.mark.parametrize("raw", ["", "12", ":x", "x:y", "-1:run", "99999999999999999999:run"])
def test_runs_bad_cursor(http: httpx.Client, raw: str) -> None:
    response = http.get(RUNS, params={"before": raw})
    expect_error(response, 400, "INVALID_REQUEST", mentions="before")


INT64_MAX = 2**63 - 1
BEYOND = [str(INT64_MAX + 1), "9999999999999999999", str(2**64), str(2**70), "0" * 20 + "1"]
"""Times the store cannot hold (64-bit signed), and more digits than any time has."""


@pytest.mark.contract("GET", RUNS, 400)
@pytest.mark.parametrize("created", BEYOND)
def test_a_cursor_time_beyond_64_bits(http: httpx.Client, created: str) -> None:
    response = http.get(RUNS, params={"before": f"{created}:smi_x"})
    error = expect_error(response, 400, "INVALID_REQUEST", mentions="before")
    assert str(INT64_MAX) in error["message"]  # the message names the bound


@pytest.mark.contract("GET", RUNS, 200)
@pytest.mark.contract("GET", RUNS, 400)
def test_the_documented_cursor_pattern_is_what_the_server_takes(http: httpx.Client) -> None:
    """Every cursor the OpenAPI document's pattern admits is answered, every other one is a
    400: a client generated from the document cannot send a cursor the server refuses."""
    document = http.get("/schema/openapi.json").json()
    parameters = document["paths"][RUNS]["get"]["parameters"]
    pattern = next(p["schema"]["pattern"] for p in parameters if p["name"] == "before")
    near = [INT64_MAX - 1, INT64_MAX, INT64_MAX + 1, 9223372036854775799, 9223372036854775810]
    times = [*BEYOND, "0", "0" * 19, "0001", "-1", "+1", " 1", "1.0", "١", *map(str, near)]
    for created in times:
        for run_id in ("smi_x", "a:b", "a\nb", ""):
            cursor = f"{created}:{run_id}"
            admitted = re.search(pattern, cursor) is not None
            status = http.get(RUNS, params={"before": cursor}).status_code
            assert status == (200 if admitted else 400), (cursor, pattern)


@pytest.mark.contract("GET", COUNTS, 200)
def test_run_counts(http: httpx.Client, runs: Runs) -> None:
    runs.wait(runs.start("tooling"), "finished")
    every = expect_json(http.get(COUNTS))
    assert set(every) == {"total", "byStatus"}
    assert every["total"] == sum(every["byStatus"].values()) >= 1
    assert every["byStatus"]["finished"] >= 1
    one = expect_json(http.get(COUNTS, params={"workflow": "contract-tooling"}))
    listed = expect_json(http.get(RUNS, params={"workflow": "contract-tooling", "limit": 1000}))
    assert one["total"] == len(listed)
    assert expect_json(http.get(COUNTS, params={"workflow": "contract-none"})) == {
        "total": 0,
        "byStatus": {},
    }


@pytest.mark.contract("GET", COUNTS, 400)
def test_run_counts_without_a_server_database(dbless_http: httpx.Client) -> None:
    expect_error(dbless_http.get(COUNTS), 400, "DB_NOT_CONFIGURED")
