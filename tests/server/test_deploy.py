"""The commands of docs/deploy.md, run: the app served by the ``granian`` command itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx

from smithers.server.process.runner import free_port, health_answers
from tests.server.process import wait_until

DOC = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"


def test_the_page_names_the_factory_and_flags_this_test_uses() -> None:
    page = DOC.read_text()
    for flag in (
        "--interface asgi",
        "--factory",
        "--workers-kill-timeout 20",
        "--http1-header-read-timeout 10000",
        "smithers.server.process.asgi:app_from_env",
    ):
        assert flag in page, flag


def test_granian_serves_the_app_factory_and_stops_gracefully(tmp_path: Path) -> None:
    root = tmp_path / "workflows"
    root.mkdir()
    (root / "hello.py").write_text(
        textwrap.dedent(
            """
            from smithers import workflow, Task, Sequence

            @workflow("hello")
            def build(ctx):
                return Sequence(Task("greet", value="hi"))
            """
        )
    )
    port = free_port("127.0.0.1")
    env = {
        **os.environ,
        "SMITHERS_SERVER_DB": str(tmp_path / "server.db"),
        "SMITHERS_ROOT": str(root),
        "SMITHERS_API_KEY": "deploy-token",
    }
    granian = Path(sys.executable).parent / "granian"
    command = [
        str(granian),
        "--interface",
        "asgi",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "2",
        "--workers-kill-timeout",
        "20",
        "--http1-header-read-timeout",
        "10000",
        "smithers.server.process.asgi:app_from_env",
    ]
    proc = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_until(lambda: health_answers("127.0.0.1", port), timeout=60)
        headers = {"authorization": "Bearer deploy-token"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
            assert client.get("/health").json() == {"ok": True}
            assert httpx.get(f"http://127.0.0.1:{port}/v1/runs").status_code == 401
            run_id = client.post("/v1/runs", json={"workflowPath": "hello.py"}).json()["runId"]
            wait_until(lambda: client.get(f"/v1/runs/{run_id}").json()["status"] == "finished")
            assert "smithers_http_requests_total" in client.get("/metrics").text
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0 and time.monotonic() - started < 30
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    assert "deploy-token" not in (proc.stderr.read() if proc.stderr else "")
