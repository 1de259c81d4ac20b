"""(5) GET /v1/runs?limit=50 and an SSE replay on a small database and on a full one.

Two servers run side by side: one on a small database, one on 100,000 runs and 1,000,000
events (both seeded by bulk SQL, ``bench.seed``). Each round measures both endpoints on both,
back to back; cost per request is 1 / (requests/s) at a fixed concurrency, and the full
database should cost at most 2x the small one.
"""

from __future__ import annotations

from bench import api
from bench.budget import Budget
from bench.loadgen import LoadResult, run_load
from bench.result import Result, Target
from bench.seed import REPLAY_EVENTS, REPLAY_RUN, seed
from bench.servers import smithers_server
from bench.stats import fmt, summary

CONNECTIONS = 8
SMALL_RUNS, SMALL_EVENTS = 100, 1_000
AFTER_SEQ = REPLAY_EVENTS // 2
MAX_GROWTH = 2.0
ENDPOINTS = {
    "list": ("GET /v1/runs?limit=50", "/v1/runs?limit=50"),
    "replay": (
        f"SSE replay of {REPLAY_EVENTS - AFTER_SEQ - 1} events (afterSeq={AFTER_SEQ})",
        f"/v1/runs/{REPLAY_RUN}/events?afterSeq={AFTER_SEQ}",
    ),
}


def run(budget: Budget) -> Result:
    """Seed both databases, then alternate small/full per endpoint in every round."""
    result = Result("scale", "Scale: cost with 100,000 runs / 1,000,000 events vs a small database")
    workdir = budget.workdir / "scale"
    workdir.mkdir(parents=True, exist_ok=True)
    seeded = {
        "small": seed(workdir / "small.db", SMALL_RUNS, SMALL_EVENTS),
        "full": seed(workdir / "full.db", budget.scale_runs, budget.scale_events),
    }
    rounds: list[dict[str, dict[str, LoadResult]]] = []
    with (
        smithers_server(workdir, workdir / "small.db", name="small") as small,
        smithers_server(workdir, workdir / "full.db", name="full") as full,
    ):
        servers = {"small": small, "full": full}
        for name, server in servers.items():  # same answers from both, and warm caches
            body = api.request(server.url + ENDPOINTS["replay"][1])
            if body.count(b"event: smithers") != REPLAY_EVENTS - AFTER_SEQ - 1:
                raise RuntimeError(f"the {name} server replayed an unexpected number of events")
            for _, path in ENDPOINTS.values():
                run_load(server.url + path, connections=CONNECTIONS, duration=1, tool=budget.tool)
        for index in range(budget.rounds):
            measured: dict[str, dict[str, LoadResult]] = {}
            for key, (_, path) in ENDPOINTS.items():
                order = ["small", "full"] if index % 2 == 0 else ["full", "small"]
                measured[key] = {
                    name: run_load(
                        servers[name].url + path,
                        connections=CONNECTIONS,
                        duration=budget.scale_seconds,
                        tool=budget.tool,
                    )
                    for name in order
                }
            rounds.append(measured)
    result.headers = ["endpoint", "database", "req/s", "p50 ms", "p99 ms", "cost full / small"]
    data: dict[str, object] = {"seeded": seeded, "rounds": []}
    for key, (title, _) in ENDPOINTS.items():
        growth = summary([r[key]["small"].rps / r[key]["full"].rps for r in rounds])
        p50_growth = summary([r[key]["full"].p50_ms / r[key]["small"].p50_ms for r in rounds])
        small_rps = summary([r[key]["small"].rps for r in rounds])["median"]
        full_rps = summary([r[key]["full"].rps for r in rounds])["median"]
        result.targets.append(
            Target(
                name=f"(5) {title}: full database vs small",
                measured=f"full: {fmt(full_rps, 0)} req/s",
                ceiling=f"small: {fmt(small_rps, 0)} req/s",
                ratio=f"cost {growth['median']:.2f}x [{growth['min']:.2f}–{growth['max']:.2f}], "
                f"p50 {p50_growth['median']:.2f}x",
                target=f"cost ≤ {MAX_GROWTH:g}x",
                met=growth["median"] <= MAX_GROWTH,
            )
        )
        for name in ("small", "full"):
            loads = [r[key][name] for r in rounds]
            result.rows.append(
                [
                    title,
                    f"{name} ({seeded[name]['runs']:,} runs, {seeded[name]['events']:,} events)",
                    _cell([x.rps for x in loads], 0),
                    _cell([x.p50_ms for x in loads], 1),
                    _cell([x.p99_ms for x in loads], 1),
                    f"{growth['median']:.2f}x" if name == "full" else "",
                ]
            )
        data[key] = {"cost_growth": growth, "p50_growth": p50_growth}
    data["rounds"] = [
        {k: {n: x.to_dict() for n, x in v.items()} for k, v in r.items()} for r in rounds
    ]
    result.notes += [
        f"{CONNECTIONS} connections, {budget.scale_seconds} s per measurement, "
        f"{budget.rounds} rounds alternating which database goes first; cells are the median "
        "over rounds [min–max]. Cost growth = small req/s ÷ full req/s per round.",
        f"Seeding by bulk SQL: full database {seeded['full']['bytes'] / 2**20:.0f} MiB in "
        f"{seeded['full']['seconds']:.0f} s. The replay run is the same in both databases.",
    ]
    result.data = data
    return result


def _cell(values: list[float], digits: int) -> str:
    s = summary(values)
    return f"{fmt(s['median'], digits)} [{fmt(s['min'], digits)}–{fmt(s['max'], digits)}]"
