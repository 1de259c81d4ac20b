"""A database that cannot be opened (a workflow's ``db=`` under a file, a PostgreSQL server
that does not answer): each request is a 500 ``SERVER_ERROR`` naming the reason, and the log
gets one line per distinct failure, without a traceback or the database's password."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx

from tests.server.process import ServerProcess, wait_until

PASSWORD = "hunter2-secret-pw"
SHOWN = "cannot open the database"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens there once the socket is closed


def _workflow(root: Path, name: str, db: str) -> None:
    (root / f"{name}.py").write_text(
        "from smithers import Task, workflow\n"
        f"@workflow({name!r}, db={db!r})\n"
        "def build(ctx):\n"
        "    return Task('never', value=1)\n"
    )


def test_an_unopenable_database_is_a_500_and_one_log_line(root: Path, tmp_path: Path) -> None:
    port = _closed_port()
    (root / "a-file").write_text("not a folder")
    _workflow(root, "under_a_file", "a-file/sub/runs.db")
    _workflow(root, "postgres_down", f"postgresql://smithers:{PASSWORD}@127.0.0.1:{port}/db")
    with (
        ServerProcess(root, str(tmp_path / "server.db")) as server,
        httpx.Client(base_url=server.url, timeout=20) as client,
    ):
        for _ in range(3):
            for name in ("under_a_file", "postgres_down"):
                response = client.post("/v1/runs", json={"workflowPath": f"{name}.py"})
                assert response.status_code == 500, response.text
                error = response.json()["error"]
                assert error["code"] == "SERVER_ERROR"
                assert error["message"].startswith("the database cannot be opened: "), error
                assert PASSWORD not in response.text and str(root) not in response.text
                if name == "under_a_file":
                    assert "Not a directory" in error["message"] and "<root>" in error["message"]
        steps = client.post("/v1/runs", json={"workflowPath": "steps.py", "input": {"n": 1}})
        assert steps.status_code == 200, steps.text  # the server goes on serving
        wait_until(lambda: sum(SHOWN in line for line in server.log) >= 2)
        time.sleep(0.3)  # a late third line would show here
        log = "".join(server.log)
    assert "Traceback" not in log, log[:4000]
    assert PASSWORD not in log
    lines = [line for line in log.splitlines() if SHOWN in line]
    assert len(lines) == 2, lines  # one per distinct failure, not one per request
    (down,) = (line for line in lines if "postgresql://" in line)
    assert f"postgresql://smithers@127.0.0.1:{port}/db" in down and "Connect call failed" in down
    (under,) = (line for line in lines if "runs.db" in line)
    assert "Not a directory" in under
