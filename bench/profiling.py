"""Where the time goes: the server's code driven in-process (no Granian, no sockets), timed
and then run under cProfile, with self time grouped by the library or layer it is spent in.

    python -m bench.profiling {get_run,post_run,steps,sse_fanout} --workdir DIR  # one JSON line

Only the event-loop thread is profiled; time the loop spends waiting for SQLite's threads
shows up as "waiting in the event loop". cProfile slows Python code more than C code, so
shares are indicative; the unprofiled per-unit CPU and wall times are the real figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import os
import pstats
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.asgi import call
from bench.servers import WORKFLOWS
from bench.stats import percentile

CATEGORIES = (
    ("smithers/server/", "Smithers HTTP layer (smithers/server)"),
    ("smithers/engine/", "engine (smithers/engine)"),
    ("smithers/store/", "store, Python side (smithers/store)"),
    ("smithers/authoring/", "workflow loading and authoring (smithers/authoring)"),
    ("smithers/metrics", "metrics (smithers/metrics + prometheus_client)"),
    ("prometheus_client", "metrics (smithers/metrics + prometheus_client)"),
    ("litestar", "Litestar"),
    ("aiosqlite", "aiosqlite thread hand-off"),
    ("sqlalchemy", "SQLAlchemy (statement compile / params)"),
    ("msgspec", "msgspec"),
    ("asyncio", "asyncio machinery"),
    ("selectors", "asyncio machinery"),
    ("concurrent", "asyncio machinery"),
    ("threading", "threads (to_thread, locks)"),
    ("importlib", "module loading (import / exec of workflow files)"),
    ("<frozen", "module loading (import / exec of workflow files)"),
    ("bench/", "benchmark driver"),
)
WAIT = "waiting in the event loop (for SQLite threads, the GIL, or idle)"


def _category(func: tuple[str, int, str]) -> str:
    filename, _, name = func
    if filename == "~":
        if "select.epoll" in name or "poll" in name:
            return WAIT
        return ""
    for marker, label in CATEGORIES:
        if marker in filename:
            return label
    if "/workflows/" in filename:
        return "workflow code (the benchmark's tasks)"
    return "other Python"


def _short(filename: str) -> str:
    path = Path(filename)
    return filename if filename == "~" else f"{path.parent.name}/{path.name}"


def breakdown(profile: cProfile.Profile, units: int) -> dict[str, Any]:
    """Self time by category (builtins count for their caller's category) and top functions."""
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    totals: dict[str, float] = {}
    for func, (_, _, tottime, _, callers) in stats.items():
        category = _category(func)
        if category:
            totals[category] = totals.get(category, 0.0) + tottime
            continue
        for caller, timing in callers.items():
            own = _category(caller) or "other Python"
            totals[own] = totals.get(own, 0.0) + timing[2]
    whole = sum(totals.values()) or 1.0
    categories = sorted(totals.items(), key=lambda kv: -kv[1])
    top = sorted(stats.items(), key=lambda kv: -kv[1][2])[:15]
    return {
        "categories": [
            [name, seconds, seconds / whole * 100, seconds / units * 1e6]
            for name, seconds in categories
        ],
        "top": [
            [f"{_short(f[0])}:{f[1]}({f[2]})", v[2] / units * 1e6, v[3] / units * 1e6]
            for f, v in top
        ],
    }


async def _timed(work: Callable[[], Awaitable[int]]) -> tuple[int, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    units = await work()
    return units, time.perf_counter() - wall, time.process_time() - cpu


async def _profiled(work: Callable[[], Awaitable[int]]) -> dict[str, Any]:
    profile = cProfile.Profile()
    profile.enable()
    try:
        units = await work()
    finally:
        profile.disable()
    return breakdown(profile, units)


def _smithers_app(workdir: Path) -> Any:
    from smithers.server.app import create_app
    from smithers.server.process.settings import ServerSettings

    return create_app(ServerSettings(db=str(workdir / "profile.db"), root_dir=WORKFLOWS))


async def _post_run(app: Any, workflow: str, input: dict[str, Any] | None = None) -> str:
    body = json.dumps({"workflowPath": workflow, "input": input or {}}).encode()
    status, answer = await call(app, "POST", "/v1/runs", body=body)
    if status != 200:
        raise RuntimeError(f"POST /v1/runs answered {status}: {answer[:200]!r}")
    return str(json.loads(answer)["runId"])


async def _idle(app: Any, timeout: float = 120) -> None:
    """Wait until the app's scheduler runs nothing."""
    scheduler = app.state.smithers.scheduler
    async with asyncio.timeout(timeout):
        while tasks := [h.task for h in scheduler.active.values() if h.task is not None]:
            await asyncio.wait(tasks)


def _requests(app: Any, path: str, count: int, concurrency: int) -> Callable[[], Awaitable[int]]:
    async def worker(n: int) -> None:
        for _ in range(n):
            status, _ = await call(app, "GET", path)
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}")

    async def work() -> int:
        await asyncio.gather(*[worker(count // concurrency) for _ in range(concurrency)])
        return count // concurrency * concurrency

    return work


def _ladder_apps(
    app: Any, row: Any, summary: dict[str, int], body: bytes, workdir: Path
) -> dict[str, Any]:
    """Litestar apps that each add one layer of what GET /v1/runs/{id} does (and one
    alternative: the same read as two hand-written queries)."""
    import sqlite3

    from litestar import Litestar, Request, get
    from litestar.params import FromPath

    from bench import ceiling_app
    from smithers.server.http.wire import RunView
    from smithers.server.routes.runs import run_view
    from smithers.store.rows import RunRow

    ctx = app.state.smithers
    names = {"Request": Request, "FromPath": FromPath, "RunView": RunView, "Any": Any}

    @get("/v1/runs/{runId:str}")
    async def struct(request: Request[Any, Any, Any], runId: FromPath[str]) -> RunView:
        return run_view(row, summary)

    @get("/v1/runs/{runId:str}")
    async def read(request: Request[Any, Any, Any], runId: FromPath[str]) -> RunView:
        return run_view(*await ctx.run_with_summary(runId))

    inline_db = sqlite3.connect(workdir / "profile.db", check_same_thread=False)
    inline_db.row_factory = sqlite3.Row

    @get("/v1/runs/{runId:str}")
    async def inline(request: Request[Any, Any, Any], runId: FromPath[str]) -> RunView:
        run = inline_db.execute("SELECT * FROM _smithers_runs WHERE run_id = ?", (runId,))
        found = RunRow(**dict(run.fetchone()))
        counts = inline_db.execute(
            "SELECT state, count(*) FROM _smithers_nodes WHERE run_id = ? GROUP BY state",
            (runId,),
        )
        return run_view(found, {state: n for state, n in counts})

    def bare(handler: Any) -> Any:
        return Litestar([handler], openapi_config=None, signature_namespace=names)

    (workdir / "body.json").write_bytes(body)
    os.environ[ceiling_app.BODY_ENV] = str(workdir / "body.json")
    return {
        "bare Litestar answering the bytes (the ceiling app)": ceiling_app.app_from_env(),
        "+ request/path parameters and a RunView Struct rendered by Litestar": bare(struct),
        "+ the SQLite read (run row + node summary, one statement, as the product does it)": bare(
            read
        ),
        "+ SmithersApp (pre-routing checks, header fixing, metrics), the product": app,
        "(instead: two plain queries with sqlite3.Row, no SQLAlchemy)": bare(inline),
    }


async def profile_get_run(workdir: Path, count: int = 3000) -> dict[str, Any]:
    """GET /v1/runs/{id} at 32 concurrent callers, layer by layer, then cProfile."""
    app = _smithers_app(workdir)
    async with app.lifespan():
        run_id = await _post_run(app, "one_task.py")
        await _idle(app)
        path = f"/v1/runs/{run_id}"
        _, body = await call(app, "GET", path)
        row, summary = await app.state.smithers.run_with_summary(run_id)
        ladder = _ladder_apps(app, row, summary, body, workdir)
        timings: dict[str, list[float]] = {name: [] for name in ladder}
        for _ in range(3):
            for name, layer in ladder.items():
                async with contextlib.AsyncExitStack() as stack:
                    if layer is not app:
                        await stack.enter_async_context(layer.lifespan())
                    await _requests(layer, path, 320, 32)()
                    units, wall, _ = await _timed(_requests(layer, path, count, 32))
                    timings[name].append(wall / units * 1e6)
        profiled = await _profiled(_requests(app, path, count, 32))
    steps = [[name, statistics.median(values)] for name, values in timings.items()]
    return {
        "unit": "request",
        "headline": {
            "product µs/request": steps[3][1],
            "ceiling µs/request": steps[0][1],
        },
        "ladder": steps,
        **profiled,
    }


def _post_runs(app: Any, count: int, concurrency: int) -> Callable[[], Awaitable[int]]:
    async def worker(n: int) -> None:
        for _ in range(n):
            await _post_run(app, "one_task.py")

    async def work() -> int:
        await asyncio.gather(*[worker(count // concurrency) for _ in range(concurrency)])
        await _idle(app)
        return count // concurrency * concurrency

    return work


class _WriterProbe:
    """Times the SQLite writer: how long its lock is held, by the ``Database`` method that took
    it (``write``, ``transaction``, ``run_ddl``), and how long ``write``'s transaction itself
    takes (patches ``smithers.store.sqlite.run_write`` and the database's write lock)."""

    def __init__(self, db: Any) -> None:
        import smithers.store.sqlite as dbm

        self.execs: list[float] = []
        self.holds: dict[str, list[float]] = {}
        self._dbm, self._original = dbm, dbm.run_write
        probe = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return probe._original(*args, **kwargs)
            finally:
                probe.execs.append(time.perf_counter() - started)

        class TimedLock(asyncio.Lock):
            async def acquire(self) -> bool:
                # acquire ← __aenter__ ← the Database method holding the lock
                owner = sys._getframe(2).f_code.co_name
                result = await super().acquire()
                self.owner, self.since = owner, time.perf_counter()
                return result

            def release(self) -> None:
                held = time.perf_counter() - self.since
                probe.holds.setdefault(self.owner, []).append(held)
                super().release()

        dbm.run_write = timed
        db._write_lock = TimedLock()

    def close(self) -> None:
        """Undo the patch."""
        self._dbm.run_write = self._original

    def summary(self, wall: float, runs: int) -> dict[str, float]:
        """Lock busy share, holds per run and their length by method, thread time per write."""
        every = [h for hs in self.holds.values() for h in hs]
        out = {
            "writer lock busy, % of wall time": sum(every) / wall * 100,
            "lock holds per run": len(every) / runs,
        }
        for method, holds in sorted(self.holds.items()):
            out[f"{method}(): holds per run"] = len(holds) / runs
            out[f"{method}(): µs held each"] = statistics.mean(holds) * 1e6
        if self.execs:
            out["write(): µs of the hold executing the transaction"] = (
                statistics.mean(self.execs) * 1e6
            )
        return out


async def profile_post_run(workdir: Path, count: int = 800) -> dict[str, Any]:
    """POST /v1/runs of one-task runs at 16 concurrent callers until all finished."""
    app = _smithers_app(workdir)
    async with app.lifespan():
        await _post_runs(app, 64, 16)()
        units, wall, cpu = await _timed(_post_runs(app, count, 16))
        writer: dict[str, float] = {}
        with contextlib.suppress(AttributeError, ImportError):  # the store's internals changed
            probe = _WriterProbe(app.state.smithers.server_store.db)
            try:
                p_units, p_wall, _ = await _timed(_post_runs(app, count, 16))
                writer = probe.summary(p_wall, p_units)
                writer["runs/s while probed"] = p_units / p_wall
            finally:
                probe.close()
        profiled = await _profiled(_post_runs(app, count, 16))
    return {
        "unit": "run",
        "headline": {
            "runs/s in-process (no HTTP server)": units / wall,
            "CPU µs per run (all threads)": cpu / units * 1e6,
        },
        "writer": writer,
        **profiled,
    }


class _Fanout:
    """One ticker run with ``subs`` in-process subscribers; arrivals are parsed afterwards,
    and the process's CPU time is sampled so the ticking phase can be told apart from the
    subscribers' start (their catch-up reads)."""

    def __init__(self, app: Any, subs: int, ticks: int) -> None:
        self.app, self.subs, self.ticks = app, subs, ticks
        self.arrivals: list[tuple[float, bytes]] = []
        self.cpu: list[tuple[float, float]] = []
        """(wall ms, process CPU seconds) every 20 ms."""

    async def _sample(self) -> None:
        while True:
            self.cpu.append((time.time() * 1000, time.process_time()))
            await asyncio.sleep(0.02)

    async def __call__(self) -> int:
        gate = 0.5 + self.subs / 500
        run_id = await _post_run(
            self.app, "ticker.py", {"gate": gate, "ticks": self.ticks, "interval": 0.05}
        )
        path = f"/v1/runs/{run_id}/events"
        sink = lambda t, chunk: self.arrivals.append((t, chunk))  # noqa: E731
        sampler = asyncio.create_task(self._sample())
        try:
            await asyncio.gather(
                *[call(self.app, "GET", path, sink=sink) for _ in range(self.subs)]
            )
        finally:
            sampler.cancel()
        return 1

    def _events(self) -> list[tuple[float, dict[str, Any]]]:
        return [
            (arrived, json.loads(line[5:]))
            for arrived, chunk in self.arrivals
            for line in chunk.split(b"\n")
            if line.startswith(b"data:")
        ]

    def ticking(self) -> tuple[list[float], int, float, float]:
        """From the gate's end on (every stream has caught up by then): delays (arrival −
        timestampMs), deliveries, process CPU seconds and wall seconds."""
        events = self._events()
        gate_end = min(
            (
                e["timestampMs"]
                for _, e in events
                if e.get("nodeId") == "gate" and e["type"] == "NodeFinished"
            ),
            default=0,
        )
        after = [(t, e) for t, e in events if e["timestampMs"] >= gate_end]
        delays = [t * 1000 - e["timestampMs"] for t, e in after]
        window = [c for c in self.cpu if c[0] >= gate_end] or self.cpu[-1:]
        cpu = window[-1][1] - window[0][1]
        wall = (window[-1][0] - window[0][0]) / 1000
        return delays, len(after), cpu, wall

    def deliveries(self) -> int:
        """Events delivered to all subscribers together."""
        return sum(chunk.count(b"\ndata:") for _, chunk in self.arrivals)


async def profile_sse_fanout(workdir: Path, subs: int = 500, ticks: int = 20) -> dict[str, Any]:
    """500 in-process subscribers of a local run: delivery delay and CPU without sockets
    (against the same run with one subscriber), then cProfile."""
    app = _smithers_app(workdir)
    async with app.lifespan():
        await _Fanout(app, 10, 3)()
        single, many = _Fanout(app, 1, ticks), _Fanout(app, subs, ticks)
        await single()
        await many()
        profiled_run = _Fanout(app, subs, ticks)
        profile = cProfile.Profile()
        profile.enable()
        try:
            await profiled_run()
        finally:
            profile.disable()
    _, one_n, one_cpu, _ = single.ticking()
    delays, n, cpu, wall = many.ticking()
    per_delivery = (cpu - one_cpu) / max(1, n - one_n)
    return {
        "unit": "delivery",
        "headline": {
            f"in-process delay p50 ms, {subs} subscribers (no sockets)": percentile(delays, 50),
            "in-process delay p99 ms": percentile(delays, 99),
            "process CPU while ticking, % of one core": cpu / wall * 100 if wall else 0.0,
            "CPU µs per extra delivery (subscriber × event; the 1-subscriber run subtracted)": (
                per_delivery * 1e6
            ),
            f"CPU ms to fan one event out to {subs} subscribers": per_delivery * subs * 1000,
        },
        **breakdown(profile, profiled_run.deliveries()),
    }


async def profile_steps(workdir: Path, steps: int = 200) -> dict[str, Any]:
    """A 200-step Sequence started through the app: per-step writer use, then cProfile."""
    app = _smithers_app(workdir)

    async def one() -> int:
        await _post_run(app, "sequence.py", {"steps": steps})
        await _idle(app)
        return steps

    async with app.lifespan():
        await one()
        units, wall, cpu = await _timed(one)
        writer: dict[str, float] = {}
        with contextlib.suppress(AttributeError, ImportError):
            probe = _WriterProbe(app.state.smithers.server_store.db)
            try:
                p_units, p_wall, _ = await _timed(one)
                writer = probe.summary(p_wall, p_units)
            finally:
                probe.close()
        profiled = await _profiled(one)
    return {
        "unit": "step",
        "headline": {
            "ms per step in-process": wall / units * 1000,
            "CPU µs per step (all threads)": cpu / units * 1e6,
        },
        "writer": {k.replace("per run", "per step"): v for k, v in writer.items()},
        **profiled,
    }


PROFILES = {
    "get_run": profile_get_run,
    "post_run": profile_post_run,
    "steps": profile_steps,
    "sse_fanout": profile_sse_fanout,
}


def run_child(name: str, workdir: Path) -> dict[str, Any]:
    """Run one profile in a fresh process; its JSON result."""
    import subprocess

    from bench.system import REPO

    workdir.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "bench.profiling", name, "--workdir", str(workdir)]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"profile {name} failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Run one profile and print its JSON line."""
    parser = argparse.ArgumentParser(prog="python -m bench.profiling")
    parser.add_argument("name", choices=sorted(PROFILES))
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(json.dumps(asyncio.run(PROFILES[args.name](args.workdir))))


if __name__ == "__main__":
    main()
