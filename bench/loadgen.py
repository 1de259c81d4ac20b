"""HTTP load from a separate process: wrk when available, else the asyncio fallback (pyload)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.system import REPO

_WRK_SCRIPT = """
{setup}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\n@@BENCH {{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,'
    .. '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,'
    .. '"mean_us":%.1f}}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
"""

_tool: str | None = None


@dataclass
class LoadResult:
    """What one load run measured."""

    tool: str
    requests: int
    duration_s: float
    rps: float
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the JSON results."""
        return asdict(self)


def _apt(*args: str) -> bool:
    if shutil.which("apt-get") is None:
        return False
    try:
        done = subprocess.run(
            ["apt-get", *args],
            capture_output=True,
            timeout=300,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def ensure_wrk() -> str | None:
    """The path of wrk, installing it with apt-get if missing; ``None`` if that fails."""
    path = shutil.which("wrk")
    if path:
        return path
    if not _apt("install", "-y", "wrk"):
        _apt("update")
        _apt("install", "-y", "wrk")
    return shutil.which("wrk")


def choose_tool(prefer: str = "auto") -> str:
    """``wrk`` or ``python`` (the fallback); ``prefer`` may force either."""
    global _tool
    if prefer == "python":
        _tool = "python"
    elif _tool is None:
        _tool = "wrk" if ensure_wrk() else "python"
    return _tool


def wrk_version() -> str | None:
    """wrk's version line, if wrk is installed."""
    path = shutil.which("wrk")
    if not path:
        return None
    done = subprocess.run([path, "-v"], capture_output=True, text=True, timeout=10)
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0].split(" Copyright")[0] if lines else None


def _lua_string(text: str) -> str:
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    eq = "=" * level
    return f"[{eq}[{text}]{eq}]"


def _wrk(
    url: str, connections: int, duration: float, method: str, body: bytes | None, threads: int
) -> LoadResult:
    setup = ""
    if method != "GET":
        setup += f'wrk.method = "{method}"\n'
    if body is not None:
        setup += f"wrk.body = {_lua_string(body.decode())}\n"
        setup += 'wrk.headers["Content-Type"] = "application/json"\n'
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_SCRIPT.format(setup=setup))
    try:
        argv = [
            "wrk",
            f"-t{max(1, min(threads, connections))}",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "10s",
            "-s",
            script.name,
            url,
        ]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
    finally:
        Path(script.name).unlink(missing_ok=True)
    line = next((x for x in done.stdout.splitlines() if x.startswith("@@BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    data = json.loads(line[len("@@BENCH ") :])
    seconds = data["duration_us"] / 1e6
    errors = sum(data[k] for k in ("connect", "read", "write", "status", "timeout"))
    return LoadResult(
        tool="wrk",
        requests=data["requests"],
        duration_s=seconds,
        rps=data["requests"] / seconds if seconds else 0.0,
        errors=errors,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
    )


def _python(
    url: str, connections: int, duration: float, method: str, body: bytes | None
) -> LoadResult:
    argv = [
        sys.executable,
        "-m",
        "bench.pyload",
        url,
        "--connections",
        str(connections),
        "--duration",
        str(duration),
        "--method",
        method,
    ]
    body_file = None
    if body is not None:
        with tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False) as f:
            f.write(body)
        body_file = f.name
        argv += ["--body-file", body_file]
    try:
        done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=duration + 60)
    finally:
        if body_file:
            Path(body_file).unlink(missing_ok=True)
    if done.returncode != 0:
        raise RuntimeError(f"pyload failed ({done.returncode}): {done.stderr}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return LoadResult(tool="python", **data)


def run_load(
    url: str,
    *,
    connections: int,
    duration: float,
    method: str = "GET",
    body: bytes | None = None,
    threads: int = 1,
    tool: str | None = None,
) -> LoadResult:
    """Drive ``url`` with ``connections`` keep-alive connections for ``duration`` seconds."""
    chosen = tool or choose_tool()
    if chosen == "wrk":
        return _wrk(url, connections, duration, method, body, threads)
    return _python(url, connections, duration, method, body)
