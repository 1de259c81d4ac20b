"""Small blocking calls to a running Smithers server (the orchestrator's side, not load)."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any


def request(url: str, body: Any = None, *, timeout: float = 30.0) -> bytes:
    """GET ``url`` (or POST ``body`` as JSON); the raw response body."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=timeout) as response:
        return bytes(response.read())


def get_json(url: str) -> Any:
    """GET and decode JSON."""
    return json.loads(request(url))


def start_run(base: str, workflow: str, input: dict[str, Any] | None = None) -> str:
    """POST /v1/runs; the new run id."""
    answer = json.loads(
        request(f"{base}/v1/runs", {"workflowPath": workflow, "input": input or {}})
    )
    return str(answer["runId"])


def wait_status(base: str, run_id: str, statuses: set[str], timeout: float = 60.0) -> str:
    """Poll GET /v1/runs/{id} until its status is one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while True:
        status = str(get_json(f"{base}/v1/runs/{run_id}")["status"])
        if status in statuses or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def metrics(base: str) -> dict[str, float]:
    """Unlabelled samples of GET /metrics (name → value)."""
    out: dict[str, float] = {}
    for line in request(f"{base}/metrics").decode().splitlines():
        if line and not line.startswith("#") and "{" not in line:
            name, _, value = line.rpartition(" ")
            try:
                out[name] = float(value)
            except ValueError:
                continue
    return out
