"""(2) One-task runs started over POST /v1/runs and finished per second, vs raw SQLite.

Each round: wrk POSTs runs for a few seconds; the server finishes the backlog; finished runs
(the ``smithers_runs_finished_total`` counter) divided by the time from the first POST to the
last finish is the product figure. The ceiling, in the same round: raw ``sqlite3`` committing
the same write transactions (recorded from a real run) for the same number of runs.
"""

from __future__ import annotations

import json
import time
from statistics import median

from bench import api
from bench.budget import Budget
from bench.loadgen import run_load
from bench.result import Result, Target
from bench.servers import WORKFLOWS, Server, smithers_server
from bench.stats import fmt, fmt_summary, summary
from bench.write_profile import capture, replay

CONNECTIONS = 16
TARGET_RUNS_PER_S = 300
DRAIN_TIMEOUT = 120.0
CEILING_REPEATS = 3
BODY = json.dumps({"workflowPath": "one_task.py", "input": {}}).encode()


def _drain(server: Server) -> dict[str, float]:
    """Wait until no run is active (two polls in a row); the metrics then."""
    deadline = time.monotonic() + DRAIN_TIMEOUT
    quiet = 0
    while time.monotonic() < deadline:
        m = api.metrics(server.url)
        quiet = quiet + 1 if m.get("smithers_runs_active", 0) <= 0 else 0
        if quiet >= 2:
            return m
        time.sleep(0.05)
    raise TimeoutError(f"runs still active after {DRAIN_TIMEOUT:.0f} s")


def _warm(server: Server, budget: Budget) -> None:
    run_load(
        server.url + "/v1/runs",
        connections=CONNECTIONS,
        duration=budget.warmup_seconds,
        method="POST",
        body=BODY,
        tool=budget.tool,
    )
    _drain(server)


def _round(server: Server, budget: Budget) -> dict[str, float]:
    before = api.metrics(server.url)
    started = time.monotonic()
    load = run_load(
        server.url + "/v1/runs",
        connections=CONNECTIONS,
        duration=budget.throughput_seconds,
        method="POST",
        body=BODY,
        tool=budget.tool,
    )
    window = api.metrics(server.url)
    after = _drain(server)
    elapsed = time.monotonic() - started

    def delta(name: str, m: dict[str, float] = after) -> float:
        return m.get(name, 0.0) - before.get(name, 0.0)

    finished = delta("smithers_runs_finished_total")
    return {
        "finished": finished,
        "failed": delta("smithers_runs_failed_total"),
        "seconds": elapsed,
        "runs_per_s": finished / elapsed,
        "window_runs_per_s": delta("smithers_runs_finished_total", window) / load.duration_s,
        "backlog_at_window_end": window.get("smithers_runs_active", 0.0),
        "post_rps": load.rps,
        "post_p50_ms": load.p50_ms,
        "post_p99_ms": load.p99_ms,
        "post_errors": load.errors,
    }


def run(budget: Budget) -> Result:
    """Capture the write profile, then rounds of product load and the storage ceiling."""
    result = Result("throughput", "Run throughput: one-task runs via POST /v1/runs vs raw SQLite")
    workdir = budget.workdir / "throughput"
    workdir.mkdir(parents=True, exist_ok=True)
    profile = capture(WORKFLOWS / "one_task.py")
    rounds: list[dict[str, float]] = []
    with smithers_server(workdir, workdir / "smithers.db") as server:
        _warm(server, budget)
        for _ in range(budget.rounds):
            r = _round(server, budget)
            count = max(1, int(r["finished"]))
            seconds = median(
                [replay(profile, count, workdir / "ceiling.db") for _ in range(CEILING_REPEATS)]
            )
            r["ceiling_runs_per_s"] = count / seconds
            r["ratio"] = r["runs_per_s"] / r["ceiling_runs_per_s"]
            rounds.append(r)
    product = summary([r["runs_per_s"] for r in rounds])
    ceiling = summary([r["ceiling_runs_per_s"] for r in rounds])
    ratio = summary([r["ratio"] for r in rounds])
    failed = sum(r["failed"] for r in rounds)
    result.targets.append(
        Target(
            name="(2) run throughput (one-task runs, SQLite)",
            measured=fmt_summary(product, 0, "runs/s"),
            ceiling=fmt_summary(ceiling, 0, "runs/s"),
            ratio=f"{ratio['median'] * 100:.0f}% [{ratio['min'] * 100:.0f}–{ratio['max'] * 100:.0f}%]",
            target=f"≥ {TARGET_RUNS_PER_S} runs/s",
            met=product["median"] >= TARGET_RUNS_PER_S and failed == 0,
        )
    )
    result.headers = [
        "round",
        "runs finished",
        "runs/s (POST→finished)",
        "runs/s in window",
        "POST req/s",
        "POST p50 / p99 ms",
        "backlog at window end",
        "ceiling runs/s",
        "ratio",
    ]
    for index, r in enumerate(rounds, 1):
        result.rows.append(
            [
                str(index),
                fmt(r["finished"], 0),
                fmt(r["runs_per_s"], 0),
                fmt(r["window_runs_per_s"], 0),
                fmt(r["post_rps"], 0),
                f"{r['post_p50_ms']:.1f} / {r['post_p99_ms']:.1f}",
                fmt(r["backlog_at_window_end"], 0),
                fmt(r["ceiling_runs_per_s"], 0),
                f"{r['ratio'] * 100:.0f}%",
            ]
        )
    result.notes += [
        f"A one-task run writes {profile['transactions_per_run']} transactions, "
        f"{profile['row_writes_per_run']} rows ({profile['statements_per_run']} statements) "
        f"and reads {profile['reads_per_run']} times through the engine's own connections "
        "(recorded from a real run); the ceiling replays exactly those write transactions "
        "with raw sqlite3 (WAL, synchronous=NORMAL, prepared statements), reads left out; "
        f"median of {CEILING_REPEATS} replays per round.",
        f"{CONNECTIONS} connections POST for {budget.throughput_seconds} s per round; the "
        "figure counts runs from the first POST until the server has finished the backlog. "
        f"Failed runs over all rounds: {failed:.0f}.",
    ]
    result.data = {
        "rounds": rounds,
        "runs_per_s": product,
        "ceiling_runs_per_s": ceiling,
        "ratio": ratio,
        "write_profile": {k: v for k, v in profile.items() if k not in ("transactions", "schema")},
    }
    return result
