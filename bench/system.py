"""The machine a benchmark ran on: cores, load, versions, and process memory from /proc."""

from __future__ import annotations

import os
import platform
import socket
import sqlite3
import subprocess
import sys
import threading
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent


PG_URL = os.environ.get("SMITHERS_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_url() -> str | None:
    """The PostgreSQL the benchmarks may use (``SMITHERS_BENCH_PG_URL``), if it answers."""
    url = make_url(PG_URL)
    try:
        with socket.create_connection((url.host or "127.0.0.1", url.port or 5432), timeout=1):
            return PG_URL
    except OSError:
        return None


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "smithers"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=10,
    ).stdout.strip()
    return out.stdout.strip() + ("+dirty" if dirty else "")


def machine_info() -> dict[str, Any]:
    """Cores, memory, kernel, Python, SQLite and library versions, commit."""
    mem_kib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1) if mem_kib else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "granian": _version("granian"),
        "litestar": _version("litestar"),
        "sqlalchemy": _version("sqlalchemy"),
        "aiosqlite": _version("aiosqlite"),
        "commit": _git_commit(),
        "executable": sys.executable,
    }


def children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (from /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    out: list[int] = []
    stack = [pid]
    while stack:
        for child in parents.get(stack.pop(), []):
            out.append(child)
            stack.append(child)
    return out


def rss_bytes(pid: int) -> int:
    """Resident memory of one process (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def pss_bytes(pid: int) -> int:
    """Proportional set size of one process (shared pages split between their users)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_rss(pid: int) -> dict[str, int]:
    """Memory of a process and its descendants: RSS ``total``, the ``largest`` RSS of one of
    them, and ``pss`` (the tree's footprint with shared pages counted once)."""
    pids = [pid, *children(pid)]
    sizes = [rss_bytes(p) for p in pids]
    return {
        "total": sum(sizes),
        "largest": max(sizes, default=0),
        "pss": sum(pss_bytes(p) for p in pids),
        "processes": len(sizes),
    }


class RssSampler:
    """Samples a process tree's memory in a thread; ``peak`` keeps each figure's maximum."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self.peak: dict[str, int] = {"total": 0, "largest": 0, "pss": 0, "processes": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = tree_rss(self.pid)
            self.peak = {k: max(v, self.peak.get(k, 0)) for k, v in now.items()}
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def mib(n: int | float) -> float:
    """Bytes in MiB."""
    return n / 1024 / 1024
