"""Start and stop the servers under test (each in its own process, on loopback only)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.system import REPO, children, tree_rss

READY = re.compile(r"listening on (http://(\S+):(\d+))")
START_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0
WORKFLOWS = REPO / "bench" / "workflows"


@dataclass
class Server:
    """A running server process: its URL, pid and log files."""

    name: str
    url: str
    host: str
    port: int
    process: subprocess.Popen[bytes]
    logs: list[Path] = field(default_factory=list)

    @property
    def pid(self) -> int:
        """The main process id."""
        return self.process.pid

    def rss(self) -> dict[str, int]:
        """RSS of the server's process tree (main process plus Granian workers)."""
        return tree_rss(self.pid)

    def log_tail(self, lines: int = 20) -> str:
        """The end of its logs (for error messages)."""
        out = []
        for path in self.logs:
            with contextlib.suppress(OSError):
                out.extend(path.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(out)


def _wait_ready(process: subprocess.Popen[bytes], log: Path, name: str) -> re.Match[str]:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        match = READY.search(text)
        if match:
            return match
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{text[-2000:]}")
        time.sleep(0.05)
    raise TimeoutError(f"{name} did not report ready within {START_TIMEOUT:.0f} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the main process, then SIGKILL it and its descendants if they linger."""
    if process.poll() is not None:
        return
    family = children(process.pid)
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
    for pid in family:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def _serve(name: str, argv: list[str], workdir: Path, env: dict[str, str]) -> Iterator[Server]:
    out, err = workdir / f"{name}.out.log", workdir / f"{name}.err.log"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            argv,
            cwd=REPO,
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **env},
        )
    try:
        match = _wait_ready(process, err, name)
        host = match.group(2).strip("[]")
        yield Server(name, match.group(1), host, int(match.group(3)), process, [err, out])
    finally:
        stop(process)


def smithers_server(
    workdir: Path,
    db: Path,
    *,
    name: str = "smithers",
    workers: int = 1,
    env: dict[str, str] | None = None,
) -> contextlib.AbstractContextManager[Server]:
    """``python -m smithers.server`` on ``db`` with ``bench/workflows`` as its root (and
    ``env`` added to the environment)."""
    argv = [
        sys.executable,
        "-m",
        "smithers.server",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--db",
        str(db),
        "--root",
        str(WORKFLOWS),
        "--workers",
        str(workers),
    ]
    return _serve(name, argv, workdir, {"SMITHERS_API_KEY": "", **(env or {})})


def ceiling_server(workdir: Path, body: Path) -> contextlib.AbstractContextManager[Server]:
    """The bare Litestar + Granian endpoint serving ``body`` from memory."""
    argv = [sys.executable, "-m", "bench.ceiling_app", "--body", str(body)]
    return _serve("ceiling", argv, workdir, {})
