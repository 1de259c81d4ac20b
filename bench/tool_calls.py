"""(6) Tool call cost: one ``bash`` call (``true``) through the sandbox against a bare
subprocess spawn of the same command, and one file tool call on a small file, in-process.
The sandboxed call is measured twice: in an empty root, and in a root laid out as a server's
(its database, a loaded workflow file and the module it imports inside the root), where the
protected paths add their binds (``smithers.tools.policy``).

Targets (issue: built-in tools): a sandboxed ``bash`` call ≤ 10 ms and ≤ 5× the bare spawn;
a file tool call ≤ 1 ms plus its I/O.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.budget import Budget
from bench.result import Result, Target
from bench.stats import percentile

BASH_TARGET_MS = 10.0
BASH_RATIO = 5.0
FILE_TARGET_MS = 1.0


async def _median_ms(call: Callable[[], Awaitable[object]], count: int) -> tuple[float, float]:
    for _ in range(max(3, count // 10)):  # warm-up: page cache, first bwrap probe
        await call()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return percentile(samples, 50), percentile(samples, 95)


async def _measure(count: int) -> dict[str, tuple[float, float]]:
    from smithers.tools.files import read_file, write_file
    from smithers.tools.root import Root
    from smithers.tools.shell import Shell
    from smithers.tools.toolbox import Toolbox

    with tempfile.TemporaryDirectory(prefix="smithers-tools-") as tmp:
        root_dir = Path(tmp) / "empty"
        root_dir.mkdir()
        (root_dir / "small.txt").write_text("line\n" * 100)
        shell = Shell(root_dir)
        project = _server_layout(Path(tmp) / "project")
        protected_shell = Shell(project)
        toolbox = Toolbox(root_dir, allow_network=False)  # the whole call path, unrecorded

        async def toolbox_bash() -> None:
            result = await toolbox.bash("true", timeout=10)
            assert result.exit_code == 0

        async def toolbox_read() -> None:
            await toolbox.read("small.txt")

        async def bare() -> None:
            proc = await asyncio.create_subprocess_exec("/bin/bash", "-c", "true", cwd=tmp)
            await proc.wait()

        async def sandboxed() -> None:
            result = await shell.run("true", timeout=10)
            assert result.exit_code == 0

        async def protected() -> None:
            result = await protected_shell.run("true", timeout=10)
            assert result.exit_code == 0

        with Root(root_dir) as root:

            async def read() -> None:
                read_file(root, "small.txt")

            async def write() -> None:
                write_file(root, "out/w.txt", "x" * 100)

            return {
                "bare bash -c true": await _median_ms(bare, count),
                "sandboxed bash tool": await _median_ms(sandboxed, count),
                "sandboxed bash tool, server layout": await _median_ms(protected, count),
                "Toolbox.bash (validated, counted)": await _median_ms(toolbox_bash, count),
                "read (100 lines)": await _median_ms(read, count * 5),
                "write (100 bytes, atomic)": await _median_ms(write, count * 5),
                "Toolbox.read (worker thread)": await _median_ms(toolbox_read, count * 5),
            }


def _server_layout(folder: Path) -> Path:
    """A project folder as a server sees it: ``smithers.db`` beside a workflow file that
    imports a module of its own folder, both loaded by this process."""
    import sqlite3
    import sys

    from smithers.authoring.loader import load_workflow
    from smithers.store.connect import open_database

    (folder / "flows").mkdir(parents=True)
    (folder / "flows" / "bench_helpers.py").write_text("VALUE = 1\n")
    (folder / "flows" / "flow.py").write_text(
        "import bench_helpers\nfrom smithers import workflow, Task\n\n"
        "@workflow('flow')\ndef flow(ctx):\n    return Task('a', value=bench_helpers.VALUE)\n"
    )
    sys.path.insert(0, str(folder / "flows"))
    try:
        load_workflow(folder / "flows" / "flow.py")
    finally:
        sys.path.remove(str(folder / "flows"))
    sqlite3.connect(folder / "smithers.db").execute("PRAGMA journal_mode=WAL").close()
    open_database(folder / "smithers.db")  # the store records it as protected
    return folder


def run(budget: Budget) -> Result:
    """Measure and compare against the targets."""
    count = 50 if budget.quick else 200
    figures = asyncio.run(_measure(count))
    result = Result("tools", "(6) Tool calls: sandboxed bash and file tools")
    result.headers = ["call", "median ms", "p95 ms"]
    result.rows = [[name, f"{m:.2f}", f"{p:.2f}"] for name, (m, p) in figures.items()]
    bare, sandboxed = figures["bare bash -c true"][0], figures["sandboxed bash tool"][0]
    result.targets.append(
        Target(
            "bash tool call (true) through the sandbox",
            f"{sandboxed:.2f} ms",
            f"≤ {BASH_TARGET_MS:g} ms and ≤ {BASH_RATIO:g}× bare",
            sandboxed <= BASH_TARGET_MS and sandboxed <= BASH_RATIO * bare,
            ceiling=f"{bare:.2f} ms bare",
            ratio=f"{sandboxed / bare:.1f}×",
        )
    )
    for name in ("read (100 lines)", "write (100 bytes, atomic)"):
        median = figures[name][0]
        result.targets.append(
            Target(
                f"file tool: {name}",
                f"{median:.3f} ms",
                f"≤ {FILE_TARGET_MS:g} ms",
                median <= FILE_TARGET_MS,
            )
        )
    result.data = {name: {"median_ms": m, "p95_ms": p} for name, (m, p) in figures.items()}
    return result


if __name__ == "__main__":
    for name, (median, p95) in asyncio.run(_measure(200)).items():
        print(f"{name:28} median {median:7.3f} ms   p95 {p95:7.3f} ms")
