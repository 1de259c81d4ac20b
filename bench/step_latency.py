"""(3) Durable step latency: per-task time in a 200-task Sequence of no-op tasks, in-process.

Each round is a fresh process (``python -m bench.step_latency --child``) that runs the
workflow through a ``RunScheduler`` on its own SQLite file: one short warm-up run, then the
measured runs. Per-step ms = the run's wall time / 200. For scale, the storage floor is raw
sqlite3 committing the same write transactions per step (recorded from a real run).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
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
from bench.stats import fmt_summary, percentile, summary
from bench.system import REPO
from bench.write_profile import capture, replay

STEPS = 200
LENGTHS = (50, 800)
"""Other Sequence lengths run once per process: does the per-step cost depend on length?"""
TARGET_MS = 2.0
WORKFLOW = WORKFLOWS / "sequence.py"


async def _child(steps: int, runs: int, lengths: list[int]) -> dict[str, Any]:
    from smithers.authoring.loader import load_workflow
    from smithers.engine.ids import new_run_id
    from smithers.engine.scheduler import RunScheduler
    from smithers.store.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(str(Path(tmp) / "steps.db"))
        scheduler = RunScheduler()
        await scheduler.attach(store)
        await scheduler.start()
        loaded = load_workflow(WORKFLOW)

        async def one(count: int) -> tuple[str, float, str]:
            run_id = new_run_id()
            waiter = asyncio.create_task(scheduler.wait(run_id, ("finished", "failed")))
            await asyncio.sleep(0)
            started = time.perf_counter()
            await scheduler.start_run(store, loaded, input={"steps": count}, run_id=run_id)
            outcome = await asyncio.wait_for(waiter, 120)
            return run_id, time.perf_counter() - started, outcome.status

        try:
            await one(20)
            per_step: list[float] = []
            intervals: list[float] = []
            for _ in range(runs):
                run_id, seconds, status = await one(steps)
                if status != "finished":
                    raise RuntimeError(f"run {run_id} ended {status}")
                per_step.append(seconds / steps * 1000)
                events = await store.reads.list_events(run_id, -1, 100_000)
                done = [e.timestamp_ms for e in events if e.type == "NodeFinished"]
                intervals += [float(b - a) for a, b in itertools.pairwise(done)]
            by_length = {}
            for count in lengths:
                _, seconds, _ = await one(count)
                by_length[str(count)] = seconds / count * 1000
        finally:
            await scheduler.close()
            await store.close()
    return {
        "per_step_ms": per_step,
        "interval_p50_ms": percentile(intervals, 50),
        "interval_p99_ms": percentile(intervals, 99),
        "by_length_ms": by_length,
    }


def _round(budget: Budget) -> dict[str, Any]:
    argv = [sys.executable, "-m", "bench.step_latency", "--child", "--runs", str(budget.step_runs)]
    argv += ["--lengths", ",".join(map(str, LENGTHS))]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"step latency child failed: {done.stderr[-2000:]}")
    data: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return data


def run(budget: Budget) -> Result:
    """Fresh-process rounds, then the storage floor of the same writes."""
    result = Result("steps", f"Durable step latency ({STEPS}-task Sequence, in-process)")
    rounds = [_round(budget) for _ in range(budget.step_processes)]
    per_step = [x for r in rounds for x in r["per_step_ms"]]
    by_round = [summary(r["per_step_ms"])["median"] for r in rounds]
    profile = capture(WORKFLOW, {"steps": STEPS}, runs=2)
    floor_runs = 5
    floor = [
        replay(profile, floor_runs, budget.workdir / "steps-floor.db") / (floor_runs * STEPS) * 1000
        for _ in range(3)
    ]
    total = summary(per_step)
    result.targets.append(
        Target(
            name="(3) durable step latency",
            measured=fmt_summary(total, 2, "ms/step"),
            ceiling=fmt_summary(summary(floor), 3, "ms/step"),
            ratio=f"{summary(floor)['median'] / total['median'] * 100:.0f}%",
            target=f"≤ {TARGET_MS:g} ms/step",
            met=total["median"] <= TARGET_MS,
        )
    )
    result.headers = [
        "process",
        f"ms/step per run ({STEPS} steps)",
        "NodeFinished gap p50 / p99 ms",
        *[f"ms/step at {n} steps" for n in LENGTHS],
    ]
    for index, r in enumerate(rounds, 1):
        result.rows.append(
            [
                str(index),
                ", ".join(f"{x:.2f}" for x in r["per_step_ms"]),
                f"{r['interval_p50_ms']:.0f} / {r['interval_p99_ms']:.0f}",
                *[f"{r['by_length_ms'][str(n)]:.2f}" for n in LENGTHS],
            ]
        )
    by_length = {n: summary([r["by_length_ms"][str(n)] for r in rounds])["median"] for n in LENGTHS}
    tx = profile["transactions_per_run"] / STEPS
    rows = profile["row_writes_per_run"] / STEPS
    result.notes += [
        f"{budget.step_processes} fresh processes × {budget.step_runs} runs of {STEPS} async "
        "no-op tasks (after a 20-task warm-up run); ms/step = run wall time / steps.",
        f"Per step the engine commits {tx:.2f} write transactions ({rows:.1f} row writes) and "
        f"makes {profile['reads_per_run'] / STEPS:.2f} reads on its connections; the ceiling "
        "column is raw sqlite3 committing just those writes (the storage floor), and the ratio "
        "is floor / measured.",
        "Gaps between consecutive NodeFinished timestamps have millisecond resolution.",
        "Per-step cost against Sequence length (medians over processes): "
        + ", ".join(
            f"{n} steps {ms:.2f} ms"
            for n, ms in sorted({**by_length, STEPS: total["median"]}.items())
        )
        + ".",
    ]
    result.data = {
        "per_step_ms": total,
        "round_medians_ms": by_round,
        "rounds": rounds,
        "storage_floor_ms": summary(floor),
        "by_length_ms": by_length,
        "write_profile": {k: v for k, v in profile.items() if k not in ("transactions", "schema")},
    }
    return result


def main() -> None:
    """The child process: print one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m bench.step_latency")
    parser.add_argument("--child", action="store_true", required=True)
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lengths", default="", help="comma-separated extra lengths")
    args = parser.parse_args()
    lengths = [int(x) for x in args.lengths.split(",") if x]
    print(json.dumps(asyncio.run(_child(args.steps, args.runs, lengths))))


if __name__ == "__main__":
    main()
