"""§2.5: an unexpected failure is ``500 SERVER_ERROR`` with its message; the server goes on."""

from __future__ import annotations

import httpx
import pytest

from contracts.deployment import Deployment
from contracts.expect import expect_error, expect_json
from contracts.runs import Runs


@pytest.mark.contract("POST", "/v1/runs", 500)
def test_a_workflow_whose_database_cannot_open(
    http: httpx.Client, deployment: Deployment, runs: Runs
) -> None:
    body = {"workflowPath": deployment.workflow("unopenable_db")}
    error = expect_error(http.post("/v1/runs", json=body), 500, "SERVER_ERROR")
    assert error["message"].strip()
    assert expect_json(http.get("/health")) == {"ok": True}
    runs.finished()  # and it still runs workflows
