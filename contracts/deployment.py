"""The server under test: a fresh local ``python -m smithers.server`` subprocess, or any URL."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

WORKFLOWS = Path(__file__).parent / "workflows"
"""The workflow files the suite runs; a deployment must have them under ``--root-workflows``."""

READY_LINE = re.compile(r"\[smithers\] HTTP server listening on (http://\S+)")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


@dataclass(frozen=True)
class Deployment:
    """Where the server is and how to reach the suite's workflow files on it."""

    base_url: str
    token: str
    workflows_dir: str
    """Prefix of every ``workflowPath`` the suite sends (relative to the server root, or absolute)."""
    root: Path | None = None
    """The server's root directory when the suite started the server itself (else unknown)."""
    log_path: Path | None = None
    """What the server prints, when the suite started it."""

    def workflow(self, name: str) -> str:
        """The ``workflowPath`` of a contract workflow file, e.g. ``workflow("instant")``."""
        return f"{self.workflows_dir.rstrip('/')}/{name}.py"

    @property
    def local(self) -> bool:
        """Whether the suite started this server (and may look at its files)."""
        return self.root is not None


class LocalServer:
    """A server subprocess on a free loopback port with its own root, database and token."""

    def __init__(
        self,
        workdir: Path,
        *,
        server_db: bool = True,
        env: dict[str, str] | None = None,
        token: str | None = None,
        flags: tuple[str, ...] = (),
    ) -> None:
        self.workdir = workdir
        self.root = workdir / "root"
        self.log_path = workdir / "server.log"
        self.server_db = server_db
        self.extra_env = env or {}
        self.flags = flags
        """More ``smithers server`` flags (e.g. short read timeouts), as ``--name=value``."""
        self.token = token or secrets.token_urlsafe(16)
        """Random by default; one in 64 starts with "-"."""
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Deployment:
        """Copy the contract workflows into a fresh root, start the server, wait for its line."""
        workflows = self.root / "contract-workflows"
        shutil.copytree(WORKFLOWS, workflows, ignore=shutil.ignore_patterns("__pycache__"))
        db = str(self.workdir / "server.db") if self.server_db else "none"
        command = [
            sys.executable,
            "-m",
            "smithers.server",
            # NAME=VALUE: a random token that starts with "-" must not read as an option
            "--host=127.0.0.1",
            "--port=0",
            f"--db={db}",
            f"--root={self.root}",
            f"--auth-token={self.token}",
            *self.flags,
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("SMITHERS_")}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        env.update(self.extra_env)
        with self.log_path.open("wb") as log:
            # a session of its own, so that a hung server's workers can be killed with it
            self.process = subprocess.Popen(
                command,
                cwd=self.workdir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        base_url = self._wait_ready()
        return Deployment(
            base_url, self.token, "contract-workflows", root=self.root, log_path=self.log_path
        )

    def _wait_ready(self) -> str:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            match = READY_LINE.search(self.log_path.read_text(errors="replace"))
            if match:
                return match.group(1)
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the server did not start; its output:\n{self.log()}")

    def log(self) -> str:
        """Everything the server printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """SIGTERM, then SIGKILL (to its process group) if it has not exited in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(STOP_TIMEOUT)
