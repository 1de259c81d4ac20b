"""Fuzzing the server with its own OpenAPI document (schemathesis), for a bounded time.

Every generated request, valid or not, must get an answer the document describes: never a
5xx, a status, content type, headers and body the document lists for that operation, and
405 with a right ``Allow`` for a method a path does not serve. Generation is deterministic
(the same cases on every run) and bounded per operation, so the run takes seconds, not
minutes, and does not flake.

The fuzzer gets a fresh server of its own: the shared one holds runs other tests leave
waiting, and an event stream of a live run stays open (as it should) until the fuzzer's
request timeout, for every such case.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from contracts.deployment import Deployment, LocalServer

CHECKS = (
    "not_a_server_error",
    "response_schema_conformance",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "allow_header_conformance",
    "unsupported_method",
    "negative_data_rejection",
)
"""Not ``positive_data_acceptance``: a request the document admits may still name a workflow
file that does not exist (400), which no schema can tell. The other way round holds: what the
document refuses, the server refuses (``negative_data_rejection``)."""

MAX_EXAMPLES = 10
"""Cases per operation and phase: ~650 requests, ~10 s on two cores."""
TIME_LIMIT = 55.0
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@pytest.fixture
def fresh(deployment: Deployment, tmp_path: Path) -> Iterator[Deployment]:
    """A server of its own, on loopback, with no runs."""
    if not deployment.local:
        pytest.skip("starts a server of its own: local mode only")
    server = LocalServer(tmp_path / "server")
    server.workdir.mkdir()
    try:
        yield server.start()
    finally:
        server.stop()


def test_the_openapi_document_fuzzed(fresh: Deployment, tmp_path: Path) -> None:
    deployment = fresh
    assert urlsplit(deployment.base_url).hostname in LOOPBACK
    schemathesis = Path(sys.executable).with_name("schemathesis")
    command = [
        str(schemathesis),
        "run",
        f"{deployment.base_url}/schema/openapi.json",
        "--header",
        f"Authorization: Bearer {deployment.token}",
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--generation-deterministic",
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--no-color",
        "--output-sanitize",
        "true",
    ]
    started = time.monotonic()
    done = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=TIME_LIMIT, check=False
    )
    elapsed = time.monotonic() - started
    output = done.stdout + done.stderr
    generated = re.search(r"(\d+) generated", output)
    print(f"schemathesis: {generated.group(0) if generated else '?'} in {elapsed:.1f} s")
    assert done.returncode == 0, output[-8000:]
    assert generated and int(generated.group(1)) > 100, output[-4000:]
