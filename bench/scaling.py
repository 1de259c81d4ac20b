"""(8) Per-step cost against workflow length: Sequences, Parallels and Loops, SQLite and PostgreSQL.

Each round is a fresh process per database (``python -m bench.scaling --child``) that runs,
through a ``RunScheduler``, one workflow per shape and length after a short warm-up run:
a Sequence and a Parallel (cap 4) of 50 and 10,000 no-op tasks, a Loop of 50 and 1,000
iterations. ms/step = the run's wall time / steps. The target: the long run's per-step cost
within 1.3x of the short one's, for every shape on both databases.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.budget import Budget
from bench.result import Result, Target
from bench.servers import WORKFLOWS
from bench.stats import summary
from bench.system import REPO, postgres_url

SHAPES = {"sequence": (50, 10_000), "parallel": (50, 10_000), "loop": (50, 1_000)}
MAX_GROWTH = 1.3
MEMORY_STEPS = 100_000
MEMORY_TARGETS = {"loop": 256, "sequence": 1024}
"""Bytes of RSS growth per step allowed over a 100,000-step run (see docs/benchmarks.md)."""


async def per_step(
    url: str, shapes: dict[str, tuple[int, ...]], runs_in_flight: tuple[int, int] | None = None
) -> dict[str, Any]:
    """ms/step per shape and length on the database at ``url`` (and one-step runs/s)."""
    from smithers.authoring.loader import load_workflow
    from smithers.engine.ids import new_run_id
    from smithers.engine.scheduler import RunScheduler
    from smithers.store.store import Store

    store = Store.open(url)
    await store.ensure_schema()
    scheduler = RunScheduler()
    await scheduler.attach(store)
    await scheduler.start()

    loads: list[Any] = []

    async def one(name: str, count: int, **extra: Any) -> float:
        loaded = load_workflow(WORKFLOWS / f"{extra.pop('file', name)}.py")
        loads.append(loaded)
        run_id = new_run_id()
        waiter = asyncio.create_task(scheduler.wait(run_id, ("finished", "failed")))
        await asyncio.sleep(0)
        started = time.perf_counter()
        given = {"steps": count, **extra}
        await scheduler.start_run(store, loaded, input=given, run_id=run_id)
        outcome = await asyncio.wait_for(waiter, 600)
        if outcome.status != "finished":
            raise RuntimeError(f"{name} run {run_id} ended {outcome.status}")
        return (time.perf_counter() - started) / count * 1000

    out: dict[str, Any] = {}
    try:
        for shape, lengths in shapes.items():
            if shape.startswith("memory-"):
                ms = await one(
                    shape, lengths[0], file="memory", shape=shape.removeprefix("memory-")
                )
                module = sys.modules[loads[-1].workflow.build.__module__]
                out[shape] = {"ms_per_step": ms, "samples": list(module.SAMPLES)}
                module.SAMPLES.clear()
                continue
            await one(shape, 20)
            out[shape] = {str(n): await one(shape, n) for n in lengths}
        if runs_in_flight is not None:
            out["runs_per_s"] = await _runs_per_second(scheduler, store, *runs_in_flight)
    finally:
        await scheduler.close()
        await store.close()
    return out


async def _runs_per_second(scheduler: Any, store: Any, runs: int, in_flight: int) -> float:
    from smithers.authoring.loader import load_workflow
    from smithers.engine.ids import new_run_id

    loaded = load_workflow(WORKFLOWS / "sequence.py")
    gate = asyncio.Semaphore(in_flight)

    async def one() -> None:
        async with gate:
            run_id = new_run_id()
            waiter = asyncio.create_task(scheduler.wait(run_id, ("finished", "failed")))
            await asyncio.sleep(0)
            await scheduler.start_run(store, loaded, input={"steps": 1}, run_id=run_id)
            await asyncio.wait_for(waiter, 120)

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(runs)))
    return runs / (time.perf_counter() - started)


def child(url: str, shapes: dict[str, tuple[int, ...]], runs: tuple[int, int] | None) -> Any:
    """Run ``per_step`` in a fresh process; its JSON result."""
    argv = [sys.executable, "-m", "bench.scaling", "--child", "--db", url]
    argv += ["--shapes", json.dumps(shapes)]
    if runs is not None:
        argv += ["--runs", str(runs[0]), "--in-flight", str(runs[1])]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=1200)
    if done.returncode != 0:
        raise RuntimeError(f"scaling child failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(budget: Budget) -> Result:
    """Fresh-process rounds on SQLite and PostgreSQL (when one answers)."""
    result = Result("scaling", "Per-step cost against workflow length (in-process)")
    databases = {"SQLite": None, "PostgreSQL": postgres_url()}
    rounds: dict[str, list[dict[str, Any]]] = {}
    for name, url in databases.items():
        if name == "PostgreSQL" and url is None:
            result.notes.append("PostgreSQL did not answer: its rows are missing.")
            continue
        for index in range(budget.scaling_processes):
            with tempfile.TemporaryDirectory() as tmp:
                target = url or str(Path(tmp) / f"scaling-{index}.db")
                rounds.setdefault(name, []).append(child(target, SHAPES, None))
    result.headers = ["database", "shape", "short: ms/step", "long: ms/step", "long / short"]
    data: dict[str, Any] = {}
    for name, found in rounds.items():
        for shape, (short, long) in SHAPES.items():
            a = summary([r[shape][str(short)] for r in found])["median"]
            b = summary([r[shape][str(long)] for r in found])["median"]
            growth = b / a
            label = f"{shape.capitalize()} of {long:,}"
            result.rows.append(
                [name, shape, f"{a:.3f} ({short})", f"{b:.3f} ({long:,})", f"{growth:.2f}x"]
            )
            result.targets.append(
                Target(
                    name=f"(8) {name}: {label} vs {short}",
                    measured=f"{b:.3f} ms/step",
                    ceiling=f"{a:.3f} ms/step at {short}",
                    ratio=f"{growth:.2f}x",
                    target=f"≤ {MAX_GROWTH:g}x",
                    met=growth <= MAX_GROWTH,
                )
            )
            data[f"{name}/{shape}"] = {"short_ms": a, "long_ms": b, "growth": growth}
    with tempfile.TemporaryDirectory() as tmp:
        memory = child(
            str(Path(tmp) / "memory.db"),
            {f"memory-{shape}": (MEMORY_STEPS,) for shape in MEMORY_TARGETS},
            None,
        )
    for shape, allowed in MEMORY_TARGETS.items():
        samples = memory[f"memory-{shape}"]["samples"]
        (first_step, first), (last_step, last) = samples[1], samples[-1]
        per_step = (last - first) / (last_step - first_step)
        result.rows.append(
            [
                "SQLite",
                f"{shape}, {MEMORY_STEPS:,} steps: RSS",
                f"{first / 2**20:.0f} MiB at step {first_step:,}",
                f"{last / 2**20:.0f} MiB at step {last_step:,}",
                f"{per_step:.0f} B/step",
            ]
        )
        result.targets.append(
            Target(
                name=f"(8) memory over a {MEMORY_STEPS:,}-step {shape.capitalize()}",
                measured=f"{per_step:.0f} B/step",
                ceiling="—",
                ratio=f"{(last - first) / 2**20:.1f} MiB over {last_step - first_step:,} steps",
                target=f"≤ {allowed} B/step",
                met=per_step <= allowed,
            )
        )
        data[f"memory/{shape}"] = {"bytes_per_step": per_step, "samples": samples}
    result.notes.append(
        f"{budget.scaling_processes} fresh processes per database; cells are medians over them. "
        "Parallels run 4 tasks at a time (the workflow default); a Loop's step is one iteration. "
        f"Memory: one process, a {MEMORY_STEPS:,}-step run of each shape on SQLite, its RSS "
        "sampled by its own tasks every 10,000 steps; growth is measured from step 10,000 (after "
        "the first render and the allocator's warm-up) to the last sample."
    )
    result.data = {"by_shape": data, "rounds": rounds}
    return result


def main() -> None:
    """The child process: print one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m bench.scaling")
    parser.add_argument("--child", action="store_true", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--shapes", required=True, help="JSON: shape -> lengths")
    parser.add_argument("--runs", type=int)
    parser.add_argument("--in-flight", type=int, default=16)
    args = parser.parse_args()
    shapes = {k: tuple(v) for k, v in json.loads(args.shapes).items()}
    runs = None if args.runs is None else (args.runs, args.in_flight)
    print(json.dumps(asyncio.run(per_step(args.db, shapes, runs))))


if __name__ == "__main__":
    main()
