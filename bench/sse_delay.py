"""(4) SSE delay from an event's commit to its arrival, with 1 and 500 subscribers, and RSS.

Two servers share one SQLite file: ``serving`` answers every event stream; a run is executed
either by ``serving`` itself ("local": events reach streams through the in-process hub) or by
``executor`` ("remote": ``serving`` polls the database). The subscribers run in a separate
process (``bench.sse_client``). The workflow (``ticker.py``) sleeps through a gate task while
the subscribers connect, then ticks every 50 ms (three events in two commits per tick).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from bench import api
from bench.budget import Budget
from bench.result import Result, Target
from bench.servers import Server, smithers_server
from bench.stats import fmt, summary
from bench.system import REPO, RssSampler, mib

TICK_SECONDS = 0.05
LOCAL_TARGET_MS = 5.0
REMOTE_TARGET_MS = 600.0
RSS_TARGET_MIB = 150.0


def _scenario(serving: Server, executing: Server, subs: int, ticks: int) -> dict[str, Any]:
    gate = 1.0 + subs / 250
    timeout = gate + ticks * TICK_SECONDS * 20 + 60
    argv = [sys.executable, "-m", "bench.sse_client", "--port", str(serving.port)]
    argv += ["--subs", str(subs), "--timeout", str(timeout)]
    client = subprocess.Popen(
        argv,
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert client.stdin is not None and client.stdout is not None
        if client.stdout.readline().strip() != "STARTED":
            raise RuntimeError(
                f"sse client did not start: {client.stderr.read() if client.stderr else ''}"
            )
        run_id = api.start_run(
            executing.url, "ticker.py", {"gate": gate, "ticks": ticks, "interval": TICK_SECONDS}
        )
        client.stdin.write(run_id + "\n")
        client.stdin.flush()
        with RssSampler(serving.pid) as sampler:
            out, err = client.communicate(timeout=timeout + 30)
        if client.returncode != 0:
            raise RuntimeError(f"sse client failed: {err[-2000:]}")
        result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        result["rss_peak"] = sampler.peak
        result["run_status"] = api.wait_status(executing.url, run_id, {"finished", "failed"})
        return result
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()


def _cell(values: list[float]) -> str:
    s = summary(values)
    return f"{fmt(s['median'], 1)} [{fmt(s['min'], 1)}–{fmt(s['max'], 1)}]"


def run(budget: Budget) -> Result:
    """Idle RSS, then rounds of every scenario; the serving process's RSS is sampled."""
    result = Result("sse", "SSE delay (event commit → client) and server memory")
    workdir = budget.workdir / "sse"
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "smithers.db"
    many = budget.sse_subscribers
    scenarios = [("local", 1), ("local", many), ("remote", 1)]
    if not budget.quick:
        scenarios.append(("remote", many))
    measured: dict[tuple[str, int], list[dict[str, Any]]] = {s: [] for s in scenarios}
    with (
        smithers_server(workdir, db, name="serving") as serving,
        smithers_server(workdir, db, name="executor") as executor,
    ):
        rss_started = serving.rss()
        _scenario(serving, serving, 1, 5)  # warm-up: imports, connections, first run
        time.sleep(1.0)
        rss_idle = serving.rss()
        for _ in range(budget.sse_rounds):
            for owner, subs in scenarios:
                executing = serving if owner == "local" else executor
                measured[(owner, subs)].append(
                    _scenario(serving, executing, subs, budget.sse_ticks)
                )
    for owner, subs in scenarios:
        rounds = measured[(owner, subs)]
        p50 = summary([r["p50_ms"] for r in rounds])
        target = LOCAL_TARGET_MS if owner == "local" else REMOTE_TARGET_MS
        where = (
            "run owned by the serving process"
            if owner == "local"
            else "run executed by another process"
        )
        result.targets.append(
            Target(
                name=f"(4) SSE median delay, {subs} subscriber{'s' * (subs > 1)}, {where}",
                measured=f"{_cell([r['p50_ms'] for r in rounds])} ms (n={len(rounds)}); "
                f"p99 {fmt(summary([r['p99_ms'] for r in rounds])['median'], 1)} ms",
                target=f"median ≤ {target:g} ms",
                met=p50["median"] <= target and all(r["gate_after_subscribe"] for r in rounds),
            )
        )
    peaks = [r["rss_peak"] for r in measured[("local", many)]]
    pss = max(p["pss"] for p in peaks)
    result.targets.append(
        Target(
            name=f"(4) server memory with {many} subscribers",
            measured=f"{mib(pss):.0f} MiB PSS peak (RSS: worker "
            f"{mib(max(p['largest'] for p in peaks)):.0f}, both processes "
            f"{mib(max(p['total'] for p in peaks)):.0f}); idle {mib(rss_idle['pss']):.0f} MiB PSS",
            target=f"≤ {RSS_TARGET_MIB:g} MiB",
            met=mib(pss) <= RSS_TARGET_MIB,
        )
    )
    result.headers = [
        "scenario",
        "median ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "events/subscriber",
        "connect s",
        "peak MiB: PSS / RSS worker / RSS both",
    ]
    for owner, subs in scenarios:
        rounds = measured[(owner, subs)]
        result.rows.append(
            [
                f"{owner}, {subs} sub{'s' * (subs > 1)}",
                _cell([r["p50_ms"] for r in rounds]),
                _cell([r["p90_ms"] for r in rounds]),
                _cell([r["p99_ms"] for r in rounds]),
                _cell([r["max_ms"] for r in rounds]),
                f"{min(r['events_per_sub_min'] for r in rounds)}–"
                f"{max(r['events_per_sub_max'] for r in rounds)}",
                _cell([r["connect_s"] for r in rounds]),
                " / ".join(
                    f"{mib(max(r['rss_peak'][k] for r in rounds)):.0f}"
                    for k in ("pss", "largest", "total")
                ),
            ]
        )
    result.notes += [
        "Cells are the median over rounds [min–max]; each round's figure is over every "
        "(subscriber, event) delivery of events stamped after all streams were subscribed.",
        "Delay = client wall clock on arrival − the event's timestampMs (set just before the "
        "commit, whole milliseconds, so figures carry up to 1 ms of truncation).",
        "Memory of the serving server: Granian's main process plus its one worker. PSS counts "
        "pages the two share once (their true footprint; the target is judged on it); RSS "
        f"double-counts them. After start: {mib(rss_started['pss']):.0f} MiB PSS; idle after a "
        f"warm-up run: {mib(rss_idle['pss']):.0f} MiB PSS, worker RSS "
        f"{mib(rss_idle['largest']):.0f} MiB, both RSS {mib(rss_idle['total']):.0f} MiB.",
        f"{budget.sse_ticks} ticks of {TICK_SECONDS * 1000:.0f} ms per run; "
        f"{budget.sse_rounds} rounds per scenario.",
    ]
    unfinished = [r for rs in measured.values() for r in rs if r["run_status"] != "finished"]
    if unfinished:
        result.notes.append(
            f"{len(unfinished)} ticker run(s) did not finish (their deliveries are still counted)."
        )
    result.data = {
        "rss_started": rss_started,
        "rss_idle": rss_idle,
        "scenarios": {f"{o}-{s}": measured[(o, s)] for o, s in scenarios},
    }
    return result
