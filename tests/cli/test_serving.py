"""``smithers up --serve`` and ``smithers server`` as a user runs them."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx

from smithers.server.process.runner import free_port
from tests.cli.helpers import SMITHERS


def _read_lines(stream, lines: list[str]) -> None:  # type: ignore[no-untyped-def]
    for line in stream:
        lines.append(line)


def _wait(check, timeout: float = 30):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_up_serve_continues_after_an_http_approval_and_keeps_serving(project: Path) -> None:
    port = free_port("127.0.0.1")
    proc = subprocess.Popen(
        [
            *SMITHERS,
            "up",
            "approval.py",
            "--serve",
            "--port",
            str(port),
            "--auth-token",
            "tok",
            "--no-metrics",
        ],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    err: list[str] = []
    threading.Thread(target=_read_lines, args=(proc.stderr, err), daemon=True).start()
    try:
        base = f"http://127.0.0.1:{port}"
        auth = {"Authorization": "Bearer tok"}
        with httpx.Client(base_url=base, headers=auth, timeout=10) as client:
            assert _wait(lambda: client.get("/").json()["status"] == "waiting-approval")
            assert client.get("/metrics").status_code == 404
            assert httpx.get(f"{base}/health").json() == {"ok": True}
            assert client.post("/approve/ship", json={"note": "ok"}).status_code == 200
            assert _wait(lambda: client.get("/").json()["status"] == "finished")
            _wait(lambda: any("still serving" in line for line in err))
            assert client.get("/").status_code == 200  # serving goes on after the run ends
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 130
        result = json.loads(out.strip().splitlines()[-1])
        assert result["status"] == "finished" and result["output"] == {"applied": True}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_server_command_serves_and_stops_on_sigterm(project: Path) -> None:
    proc = subprocess.Popen(
        [*SMITHERS, "server", "--port", "0", "--db", "sqlite:///./server.db", "--root", "."],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    err: list[str] = []
    threading.Thread(target=_read_lines, args=(proc.stderr, err), daemon=True).start()
    try:
        line = _wait(lambda: next((x for x in err if "listening on" in x), None))
        url = re.search(r"(http://\S+)", line).group(1)  # type: ignore[union-attr]
        with httpx.Client(base_url=url, timeout=10) as client:
            run_id = client.post("/v1/runs", json={"workflowPath": "steps.py"}).json()["runId"]
            assert _wait(lambda: client.get(f"/v1/runs/{run_id}").json()["status"] == "finished")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert (project / "server.db").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
