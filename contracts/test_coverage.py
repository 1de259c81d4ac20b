"""Every documented (method, path, status) has a contract test marked for it.

"Documented" means both the spec (transcribed in ``documented.py``) and the server's own
OpenAPI document. The marked triples come from a ``--collect-only`` run of this directory,
so the check does not depend on which tests the current session selected.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.conftest import CENSUS_ENV
from contracts.documented import OPERATIONS, UNMATCHED, Triple, spec_triples

HERE = Path(__file__).parent
METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")

PROVOKED_500 = {("POST", "/v1/runs", 500)}
"""The 500s a black-box test can provoke: a workflow whose own database cannot be opened."""

UNPROVOKABLE_500 = {(method, path, 500) for method, path in OPERATIONS} - PROVOKED_500
"""The catch-all 500 of the other routes: no request reaches an unexpected failure there
without a fault injected into the server, which this suite does not do."""


@pytest.fixture(scope="module")
def census(tmp_path_factory: pytest.TempPathFactory) -> dict[Triple, list[str]]:
    """Marked triples of every test in this directory, with the tests marked for each."""
    target = tmp_path_factory.mktemp("census") / "census.json"
    env = {**os.environ, CENSUS_ENV: str(target)}
    command = [sys.executable, "-m", "pytest", str(HERE), "--collect-only", "-q"]
    done = subprocess.run(
        [*command, "-p", "no:cacheprovider"],
        cwd=HERE.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    triples: dict[Triple, list[str]] = {}
    for nodeid, method, path, status in json.loads(target.read_text()):
        triples.setdefault((method, path, status), []).append(nodeid)
    return triples


@pytest.fixture(scope="module")
def openapi(http: httpx.Client) -> dict[str, Any]:
    """The server's OpenAPI document."""
    response = http.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def openapi_triples(document: dict[str, Any]) -> set[Triple]:
    """(method, path, status) of every response every operation documents."""
    return {
        (method.upper(), path, int(status))
        for path, item in document["paths"].items()
        for method in METHODS
        if method in item
        for status in item[method]["responses"]
    }


def test_every_status_of_the_spec_is_tested(census: dict[Triple, list[str]]) -> None:
    untested = spec_triples() - set(census)
    assert not untested, sorted(untested)


def test_every_status_of_the_openapi_document_is_tested(
    census: dict[Triple, list[str]], openapi: dict[str, Any]
) -> None:
    documented = openapi_triples(openapi)
    assert documented >= UNPROVOKABLE_500, "the waiver names a 500 nobody documents"
    untested = documented - set(census) - UNPROVOKABLE_500
    assert not untested, sorted(untested)


def test_the_500_waiver_is_not_stale(census: dict[Triple, list[str]]) -> None:
    assert set(census) >= PROVOKED_500
    tested_anyway = UNPROVOKABLE_500 & set(census)
    assert not tested_anyway, f"now tested, drop them from UNPROVOKABLE_500: {tested_anyway}"


def test_marks_name_documented_triples(
    census: dict[Triple, list[str]], openapi: dict[str, Any]
) -> None:
    unknown = set(census) - spec_triples() - openapi_triples(openapi)
    assert not unknown, {triple: census[triple] for triple in unknown}


def test_openapi_operations_are_the_spec_routes(openapi: dict[str, Any]) -> None:
    operations = {(method, path) for method, path, _ in openapi_triples(openapi)}
    assert operations == set(OPERATIONS)
    assert UNMATCHED not in {path for _, path in operations}


def test_documented_errors_use_the_envelope(openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    for path, item in openapi["paths"].items():
        for method in METHODS:
            for status, response in item.get(method, {}).get("responses", {}).items():
                if int(status) < 400:
                    continue
                schema = response["content"]["application/json"]["schema"]
                if "$ref" in schema:
                    schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
                assert set(schema.get("properties", {})) == {"error"}, (method, path, status)
