"""The suite notices a broken server: one documented code changed, exactly its test fails.

The server under test here is a separate local subprocess whose interpreter loads a
``sitecustomize`` module (through ``PYTHONPATH``) that changes the status of
``RUN_NOT_ACTIVE`` from 409 to 404, so that cancelling a terminal run answers 404. Nothing in
the server's own code knows about this; the whole contract suite then runs against it.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from contracts.deployment import Deployment, LocalServer
from contracts.runs import Runs

HERE = Path(__file__).parent

MUTATION = '''\
"""Contract-suite mutation: a terminal run's cancel answers 404 instead of 409."""
import smithers.server.http.errors as errors
from smithers.errors import RunNotActive

errors.STATUS_BY_ERROR = ((RunNotActive, 404), *errors.STATUS_BY_ERROR)
'''

EXPECTED_FAILURES = {"contracts.test_resume_cancel::test_cancel_of_a_terminal_run"}
"""The contract test of ``POST /v1/runs/{runId}/cancel`` → 409, and nothing else."""


@pytest.fixture
def mutated(tmp_path: Path, deployment: Deployment) -> Iterator[Deployment]:
    """A local server with the mutation loaded."""
    if not deployment.local:
        pytest.skip("starts a mutated server of its own: local mode only")
    patch = tmp_path / "mutation"
    patch.mkdir()
    (patch / "sitecustomize.py").write_text(MUTATION)
    server = LocalServer(tmp_path / "server", env={"PYTHONPATH": str(patch)})
    server.workdir.mkdir()
    try:
        yield server.start()
    finally:
        server.stop()


def failed_tests(report: Path) -> set[str]:
    """``module::test`` of every failed or erroring test case in a JUnit XML report."""
    failed = set()
    for case in ET.parse(report).iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed.add(f"{case.get('classname')}::{case.get('name', '').split('[')[0]}")
    return failed


@pytest.mark.timeout(600)
def test_a_changed_status_fails_exactly_its_contract_test(
    mutated: Deployment, tmp_path: Path
) -> None:
    with httpx.Client(base_url=mutated.base_url, headers={"x-smithers-key": mutated.token}) as http:
        finished = Runs(http, mutated).finished()
        assert http.post(f"/v1/runs/{finished}/cancel").status_code == 404, "mutation not loaded"
    report = tmp_path / "report.xml"
    workflows = str(mutated.root / mutated.workflows_dir) if mutated.root else ""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(HERE),
            f"--base-url={mutated.base_url}",
            # "=" form: a random token may start with "-", which argparse would take for a flag
            f"--token={mutated.token}",
            f"--root-workflows={workflows}",
            f"--junitxml={report}",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=HERE.parent,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert failed_tests(report) == EXPECTED_FAILURES, done.stdout[-3000:]
