"""(1) GET /v1/runs/{id} requests/s at 32 connections against the bare-framework ceiling."""

from __future__ import annotations

from bench import api
from bench.budget import Budget
from bench.loadgen import LoadResult, run_load
from bench.result import Result, Target
from bench.servers import ceiling_server, smithers_server
from bench.stats import fmt, fmt_summary, summary
from bench.system import mib

CONNECTIONS = 32
TARGET_RATIO = 0.75


def _measure(url: str, budget: Budget) -> LoadResult:
    run_load(url, connections=CONNECTIONS, duration=budget.warmup_seconds, tool=budget.tool)
    return run_load(url, connections=CONNECTIONS, duration=budget.http_seconds, tool=budget.tool)


def run(budget: Budget) -> Result:
    """Both servers up; each round measures the ceiling and Smithers back to back."""
    result = Result("get_run", "GET /v1/runs/{id} throughput vs bare Litestar + Granian")
    workdir = budget.workdir / "get_run"
    workdir.mkdir(parents=True, exist_ok=True)
    with smithers_server(workdir, workdir / "smithers.db") as server:
        run_id = api.start_run(server.url, "one_task.py")
        api.wait_status(server.url, run_id, {"finished", "failed"})
        path = f"/v1/runs/{run_id}"
        body = api.request(server.url + path)
        (workdir / "body.json").write_bytes(body)
        with ceiling_server(workdir, workdir / "body.json") as ceiling:
            if api.request(ceiling.url + path) != body:
                raise RuntimeError("the ceiling does not answer the same bytes")
            rounds: list[dict[str, LoadResult]] = []
            for index in range(budget.rounds):
                order = [("ceiling", ceiling), ("smithers", server)]
                if index % 2:
                    order.reverse()
                rounds.append({name: _measure(s.url + path, budget) for name, s in order})
            memory = {"smithers": server.rss(), "ceiling": ceiling.rss()}
        ratios = [r["smithers"].rps / r["ceiling"].rps for r in rounds]
    product = [r["smithers"].rps for r in rounds]
    ceil = [r["ceiling"].rps for r in rounds]
    ratio = summary(ratios)
    result.targets.append(
        Target(
            name="(1) GET /v1/runs/{id}, 32 connections",
            measured=fmt_summary(summary(product), 0, "req/s"),
            ceiling=fmt_summary(summary(ceil), 0, "req/s"),
            ratio=f"{ratio['median'] * 100:.0f}% [{ratio['min'] * 100:.0f}–{ratio['max'] * 100:.0f}%]",
            target=f"≥ {TARGET_RATIO * 100:.0f}% of ceiling",
            met=ratio["median"] >= TARGET_RATIO,
        )
    )
    result.headers = [
        "round",
        "ceiling req/s",
        "smithers req/s",
        "ratio",
        "p50 ms (c / s)",
        "p99 ms (c / s)",
        "errors",
    ]
    for index, r in enumerate(rounds, 1):
        c, s = r["ceiling"], r["smithers"]
        result.rows.append(
            [
                str(index),
                fmt(c.rps, 0),
                fmt(s.rps, 0),
                f"{s.rps / c.rps * 100:.0f}%",
                f"{c.p50_ms:.1f} / {s.p50_ms:.1f}",
                f"{c.p99_ms:.1f} / {s.p99_ms:.1f}",
                str(c.errors + s.errors),
            ]
        )
    result.notes.append(
        f"{len(body)}-byte body; load from {rounds[0]['smithers'].tool}, 1 thread, "
        f"{CONNECTIONS} keep-alive connections, {budget.http_seconds} s per side per round "
        f"after {budget.warmup_seconds} s warm-up; the order alternates between rounds."
    )
    result.notes.append(
        "Memory after the rounds (PSS of Granian main process + worker): "
        f"Smithers {mib(memory['smithers']['pss']):.0f} MiB, the bare app "
        f"{mib(memory['ceiling']['pss']):.0f} MiB."
    )
    result.data = {
        "memory": memory,
        "run_id": run_id,
        "body_bytes": len(body),
        "rounds": [{k: v.to_dict() for k, v in r.items()} for r in rounds],
        "smithers_rps": summary(product),
        "ceiling_rps": summary(ceil),
        "ratio": ratio,
    }
    return result
