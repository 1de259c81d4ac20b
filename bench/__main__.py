"""``python -m bench`` (``just bench``): run the benchmarks and write bench/results/.

    just bench                 # the full suite (~7-9 min on 2 cores), profiles missed targets
    just bench --quick         # ~2-3 min: fewer, shorter rounds, no profiles
    just bench --only get_run,sse --rounds 3   # writes results-get_run-sse.md/.json
    just bench --only peers    # Smithers vs DBOS Transact 3.4 (installs DBOS in bench/.peers/)

See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench import loadgen, profiling
from bench.budget import Budget
from bench.report import write
from bench.result import Result
from bench.system import REPO, load_average, machine_info

BENCHMARKS = {
    "get_run": "bench.http_load",
    "throughput": "bench.run_throughput",
    "steps": "bench.step_latency",
    "sse": "bench.sse_delay",
    "scale": "bench.scale",
    "tools": "bench.tool_calls",
    "tracing": "bench.tracing_cost",
    "scaling": "bench.scaling",
    "peers": "bench.peers.dbos_comparison",
}
OPTIONAL = {"peers"}
"""Run only when named in ``--only`` (they install a peer engine in an environment of its own)."""
PROFILE_FOR = {
    "get_run": "get_run",
    "throughput": "post_run",
    "steps": "steps",
    "sse": "sse_fanout",
}
"""The in-process profile (``bench.profiling``) that explains a benchmark's missed target."""


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run the Smithers benchmarks and write bench/results/ (docs/benchmarks.md).",
    )
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds (~2-3 min)")
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--rounds", type=int, help="rounds per ceiling comparison")
    parser.add_argument(
        "--loadgen", choices=["auto", "wrk", "python"], default="auto", help="HTTP load tool"
    )
    parser.add_argument(
        "--profile",
        action=argparse.BooleanOptionalAction,
        help="profile missed targets in-process (default: on; off with --quick)",
    )
    parser.add_argument(
        "--out", type=Path, default=REPO / "bench" / "results", help="results directory"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks, print and write the results."""
    args = _parse(argv)
    keys = args.only.split(",") if args.only else [k for k in BENCHMARKS if k not in OPTIONAL]
    unknown = [k for k in keys if k not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    tool = loadgen.choose_tool(args.loadgen)
    if args.loadgen == "wrk" and tool != "wrk":
        print("wrk is not available", file=sys.stderr)
        return 2
    started = time.monotonic()
    header = {
        "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": args.quick,
        "benchmarks": keys,
        "subset": bool(args.only),
        "machine": machine_info(),
        "tool": tool if tool == "python" else (loadgen.wrk_version() or "wrk"),
        "load_start": load_average(),
    }
    print(f"[bench] load average {header['load_start']}; load generator: {header['tool']}")
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="smithers-bench-") as tmp:
        profile = not args.quick if args.profile is None else args.profile
        budget = Budget.create(
            args.quick, Path(tmp), tool=tool, rounds=args.rounds, profile=profile
        )
        for key in keys:
            print(f"[bench] {key} …", flush=True)
            t0 = time.monotonic()
            module = importlib.import_module(BENCHMARKS[key])
            try:
                result: Result = module.run(budget)
            except Exception as exc:
                traceback.print_exc()
                result = Result(key, key, error=f"{type(exc).__name__}: {exc}")
            if (
                budget.profile
                and key in PROFILE_FOR
                and any(t.met is False for t in result.targets)
            ):
                name = PROFILE_FOR[key]
                print(f"[bench]   missed a target: profiling {name} in-process …", flush=True)
                try:
                    result.profiles[name] = profiling.run_child(
                        name, budget.workdir / f"profile-{name}"
                    )
                except Exception as exc:
                    result.notes.append(f"profile {name} failed: {exc}")
            result.seconds = time.monotonic() - t0
            result.load_after = load_average()
            results.append(result)
            for target in result.targets:
                print(f"[bench]   {target.name}: {target.measured} (target {target.target})")
            print(f"[bench]   done in {result.seconds:.0f} s, load {result.load_after}", flush=True)
    header["seconds"] = time.monotonic() - started
    commit_end = machine_info()["commit"]
    if commit_end != header["machine"]["commit"]:
        header["machine"]["commit"] += f" (changed to {commit_end} during the run)"
    header["load_end"] = load_average()
    md, js = write(results, header, args.out)
    print(md.read_text())
    print(f"[bench] wrote {md.relative_to(REPO) if md.is_relative_to(REPO) else md} and {js.name}")
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
