"""The OpenAPI document describes the requests the server accepts, no wider.

A client generated from it must send only valid requests: no field or parameter is nullable
(``null`` is not "absent", §4), and strings and integers carry the bounds the server checks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from contracts.documented import OPERATIONS, SIGNAL_PATHS
from contracts.paths import concrete
from contracts.runs import Runs

RUN_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._:-]{0,255}$"
INT64 = {"minimum": -(2**63), "maximum": 2**63 - 1}


@pytest.fixture(scope="module")
def document(http: httpx.Client) -> dict[str, Any]:
    response = http.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _walk(
    document: dict[str, Any], schema: dict[str, Any], where: str
) -> Iterator[tuple[str, Any]]:
    """Every (location, subschema) of a schema, references followed."""
    schema = _resolve(document, schema)
    yield where, schema
    for name, sub in schema.get("properties", {}).items():
        yield from _walk(document, sub, f"{where}.{name}")
    for key in ("anyOf", "oneOf", "allOf"):
        for i, sub in enumerate(schema.get(key, [])):
            yield from _walk(document, sub, f"{where}/{key}[{i}]")


def _allows_null(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    return kind == "null" or (isinstance(kind, list) and "null" in kind)


def _request_body(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    operation = document["paths"][path][method.lower()]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    return _resolve(document, schema)


def test_no_request_field_or_parameter_is_nullable(document: dict[str, Any]) -> None:
    for method, path in OPERATIONS:
        operation = document["paths"][path][method.lower()]
        for parameter in operation.get("parameters", []):
            for where, schema in _walk(document, parameter["schema"], parameter["name"]):
                assert not _allows_null(schema), (method, path, where, schema)
        body = operation.get("requestBody")
        if body is not None:
            schema = body["content"]["application/json"]["schema"]
            for where, sub in _walk(document, schema, "body"):
                assert not _allows_null(sub), (method, path, where, sub)


def test_start_body_bounds(document: dict[str, Any]) -> None:
    start = _request_body(document, "POST", "/v1/runs")["properties"]
    assert start["workflowPath"] == {"type": "string", "minLength": 1}
    assert start["runId"] == {"type": "string", "pattern": RUN_ID_PATTERN}
    config = _resolve(document, start["config"])["properties"]
    assert config["maxConcurrency"] == {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
    resume = _request_body(document, "POST", "/v1/runs/{runId}/resume")["properties"]
    assert resume["workflowPath"] == {"type": "string", "minLength": 1}
    assert resume["input"] == {"type": "object"}


def test_decision_body_bounds(document: dict[str, Any]) -> None:
    for decision in ("approve", "deny"):
        path = f"/v1/runs/{{runId}}/nodes/{{nodeId}}/{decision}"
        iteration = _request_body(document, "POST", path)["properties"]["iteration"]
        assert iteration == {"type": "integer", "minimum": 0, "maximum": 2**63 - 1, "default": 0}


def _parameters(document: dict[str, Any], method: str, path: str) -> dict[str, dict[str, Any]]:
    operation = document["paths"][path][method.lower()]
    return {p["name"]: p["schema"] for p in operation.get("parameters", [])}


def test_query_and_path_parameter_bounds(document: dict[str, Any]) -> None:
    frames = _parameters(document, "GET", "/v1/runs/{runId}/frames")
    assert frames["limit"] == {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}
    assert frames["afterFrameNo"] == {"type": "integer", **INT64}
    assert frames["runId"] == {"type": "string", "pattern": RUN_ID_PATTERN}
    events = _parameters(document, "GET", "/v1/runs/{runId}/events")
    assert events["afterSeq"] == {"type": "integer", **INT64, "default": -1}
    assert events["Last-Event-ID"] == {"type": "integer", **INT64}
    listing = _parameters(document, "GET", "/v1/runs")
    assert set(listing["status"]["enum"]) >= {"running", "finished", "waiting-approval"}
    for path in SIGNAL_PATHS:
        name = _parameters(document, "POST", path)["signalName"]
        assert name["type"] == "string" and name["maxLength"] == 256 and name["pattern"]


SIGNAL_NAMES = [
    "go",
    " go ",
    "\tgo\n",
    "\u3000go\u2028",
    "\x85go",
    "a b",
    "été",
    "\ufeff",
    "n" * 256,
    " " * 255 + "n",
    "a\x00b",
    "\x00",
    "a\tb",
    "a\x85b",
    "a\x7fb",
    "\x1b[31m",
    " ",
    "\t\u3000",
    "n" * 257,
    " " * 256 + "n",
]


@pytest.mark.parametrize("path", SIGNAL_PATHS)
def test_the_documented_signal_name_is_what_the_server_takes(
    http: httpx.Client, document: dict[str, Any], runs: Runs, path: str
) -> None:
    """A name the document admits (its ``pattern`` and ``maxLength``) is stored, any other
    one is a 400: a client generated from the document sends only names the server takes."""
    schema = _parameters(document, "POST", path)["signalName"]
    run_id = runs.finished()  # a run of its own: the signals are stored with it
    for name in SIGNAL_NAMES:
        admitted = re.search(schema["pattern"], name) is not None
        admitted = admitted and len(name) <= schema["maxLength"]
        url = concrete(path, run_id=run_id, signal=name)
        status = http.post(url, json={}).status_code
        assert status == (200 if admitted else 400), (name, schema)
