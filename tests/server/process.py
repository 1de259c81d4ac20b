"""A real ``smithers server`` process for tests (loopback only, always stopped), and the
HTTP reads the server tests share."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from httpx_sse import connect_sse

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"listening on (http://[^\s\"]+)")


class ServerProcess:
    """``python -m smithers.server`` on a free port, in its own process group."""

    def __init__(
        self,
        root: Path,
        db: str,
        *,
        workers: int = 1,
        token: str | None = None,
        extra: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        program: tuple[str, ...] = (sys.executable, "-m", "smithers.server"),
    ) -> None:
        self.root = root
        self.db = db
        self.program = program
        # NAME=VALUE throughout: a value that starts with "-" would read as an option
        self.args = ["--port=0", f"--db={db}", f"--root={root}", f"--workers={workers}"]
        if token:
            self.args.append(f"--auth-token={token}")
        self.args += list(extra)
        self.env = {**os.environ, **(env or {})}
        self.env.pop("SMITHERS_API_KEY", None)
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.log: list[str] = []

    def start(self, timeout: float = 30) -> ServerProcess:
        """Start and wait for the readiness line."""
        self.proc = subprocess.Popen(
            [*self.program, *self.args],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
            start_new_session=True,
        )
        ready = threading.Event()
        assert self.proc.stderr is not None
        stderr = self.proc.stderr

        def drain() -> None:
            for line in stderr:
                self.log.append(line)
                match = READY.search(line)
                if match and not ready.is_set():
                    self.url = match.group(1)
                    ready.set()

        threading.Thread(target=drain, daemon=True).start()
        if not ready.wait(timeout):
            self.kill()
            raise AssertionError("server did not start:\n" + "".join(self.log))
        return self

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, wait; kill the group if it does not stop."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # the main process stops its workers
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError("server did not stop on SIGTERM") from None
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL the whole process group (main process and workers)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.stop()
        finally:
            self.kill()


def wait_until(check, timeout: float = 20, interval: float = 0.02):  # type: ignore[no-untyped-def]
    """Poll ``check()`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(interval)


def status_of(client: httpx.Client, run_id: str) -> str:
    """The run's status as ``GET /v1/runs/{id}`` reports it."""
    return str(client.get(f"/v1/runs/{run_id}").json()["status"])


def events_of(client: httpx.Client, run_id: str) -> list[dict]:  # type: ignore[type-arg]
    """Every event of the run from its SSE stream (which closes after the run ends)."""
    out = []
    with connect_sse(client, "GET", f"/v1/runs/{run_id}/events") as source:
        for sse in source.iter_sse():
            if sse.data:  # the opening `retry:` block carries no data and is not an event
                out.append({"id": int(sse.id), **sse.json()})
    return out


def start_slow_runs(
    client: httpx.Client, count: int, observer: httpx.Client | None = None
) -> list[str]:
    """Start ``slow.py`` runs (three 1 s steps) and wait until each has a step in progress
    (as ``observer`` sees it, by default the same server)."""
    body = {"workflowPath": "slow.py", "input": {"sleep": 1, "steps": 3}}
    ids = [client.post("/v1/runs", json=body).json()["runId"] for _ in range(count)]
    seen_by = observer or client
    for run_id in ids:
        wait_until(
            lambda run_id=run_id: (
                seen_by.get(f"/v1/runs/{run_id}").json()["summary"].get("in-progress")
            )
        )
    return ids


def assert_finished_after_one_interruption(client: httpx.Client, run_id: str) -> None:
    """The run finishes; its events are dense, with exactly one interrupted attempt and each
    step finished once."""
    wait_until(lambda: status_of(client, run_id) == "finished", timeout=40)
    events = events_of(client, run_id)
    assert [e["id"] for e in events] == list(range(len(events)))
    interrupted = [e for e in events if e["type"] == "NodeCancelled"]
    assert [e["reason"] for e in interrupted] == ["interrupted"]
    finished = [e["nodeId"] for e in events if e["type"] == "NodeFinished"]
    assert sorted(finished) == ["s0", "s1", "s2"]
