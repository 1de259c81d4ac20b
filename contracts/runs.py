"""Starting runs of the contract workflows and waiting for them, over HTTP only."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from contracts.deployment import Deployment

TERMINAL = frozenset({"finished", "failed", "cancelled", "continued"})
WAIT_TIMEOUT = 20.0


def new_run_id(label: str = "run") -> str:
    """A unique, valid run id the suite chooses itself."""
    return f"contract-{label}-{uuid.uuid4().hex[:12]}"


class Runs:
    """Runs started by one test; whatever is still going is cancelled at teardown."""

    def __init__(self, http: httpx.Client, deployment: Deployment) -> None:
        self.http = http
        self.deployment = deployment
        self.started: list[str] = []

    def start(
        self, workflow: str, input: dict[str, Any] | None = None, *, run_id: str | None = None
    ) -> str:
        """Start a run of a contract workflow and return its id."""
        body: dict[str, Any] = {"workflowPath": self.deployment.workflow(workflow)}
        if input is not None:
            body["input"] = input
        if run_id is not None:
            body["runId"] = run_id
        response = self.http.post("/v1/runs", json=body)
        assert response.status_code == 200, response.text
        started = str(response.json()["runId"])
        self.started.append(started)
        return started

    def get(self, run_id: str) -> dict[str, Any]:
        """``GET /v1/runs/{runId}``."""
        response = self.http.get(f"/v1/runs/{run_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def wait(self, run_id: str, *statuses: str, timeout: float = WAIT_TIMEOUT) -> dict[str, Any]:
        """Poll until the run's status is one of ``statuses``; fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.get(run_id)
            if run["status"] in statuses:
                return run
            assert time.monotonic() < deadline, f"{run_id} stayed {run['status']}, not {statuses}"
            time.sleep(0.05)

    def finished(self) -> str:
        """A run that has finished."""
        run_id = self.start("instant")
        self.wait(run_id, "finished")
        return run_id

    def waiting_approval(self) -> str:
        """A run suspended on the approval of node ``gate``."""
        run_id = self.start("approval")
        self.wait(run_id, "waiting-approval")
        return run_id

    def waiting_signal(self) -> str:
        """A run suspended until it receives the signal ``go``."""
        run_id = self.start("signal")
        self.wait(run_id, "waiting-event")
        return run_id

    def active(self) -> str:
        """A run executing a long task right now."""
        run_id = self.start("slow", {"seconds": 60})
        self.wait(run_id, "running")
        return run_id

    def cancel_leftovers(self) -> None:
        """Cancel every run this test started that is not terminal (waits for the end)."""
        for run_id in self.started:
            if self.get(run_id)["status"] in TERMINAL:
                continue
            # a cleanup, not a check: the run may have ended meanwhile, whatever the answer
            self.http.post(f"/v1/runs/{run_id}/cancel")
            self.wait(run_id, *TERMINAL)
