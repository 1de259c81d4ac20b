"""(9) Smithers against DBOS Transact 3.4 on the same workloads, databases and durability.

Only with ``--only peers``: DBOS is installed into ``bench/.peers/dbos-3.4`` (a virtual
environment of its own, made with uv) the first time. Every round runs, in fresh processes
and alternating which engine goes first: a Sequence of durable no-op steps (ms per step, at
50, 200 and 800 steps) on SQLite WAL with ``synchronous=NORMAL`` and with ``FULL``, the same
on PostgreSQL, and one-step runs with 16 in flight on PostgreSQL (runs per second).
Both engines run in-process (DBOS is a library): Smithers through a ``RunScheduler``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import scaling
from bench.budget import Budget
from bench.result import Result, Target
from bench.stats import summary
from bench.system import REPO, postgres_url

VERSION = "3.4.*"
VENV = REPO / "bench" / ".peers" / "dbos-3.4"
WORKLOAD = Path(__file__).with_name("dbos_workload.py")
LENGTHS = (50, 200, 800)
STEPS = 200
RUNS, IN_FLIGHT = 400, 16
TARGETS = {"SQLite WAL+NORMAL": 2.5, "SQLite WAL+FULL": 2.5, "PostgreSQL": 2.0}
"""How many times faster than DBOS Smithers should be, per database."""
PG_MAX_MS = 1.5
PG_SCHEMA = "smithers_bench_dbos"


def ensure_dbos() -> Path:
    """The peer's interpreter, installing DBOS into its own environment if needed."""
    python = VENV / "bin" / "python"
    if python.exists():
        return python
    uv = shutil.which("uv")
    if uv is None:
        raise RuntimeError("uv is needed to install the DBOS peer (pip install uv)")
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(VENV)], check=True)
    subprocess.run(
        [uv, "pip", "install", "-q", "--python", str(python), f"dbos=={VERSION}"], check=True
    )
    return python


def _dbos(python: Path, db: str, synchronous: str, runs: int) -> dict[str, Any]:
    argv = [str(python), str(WORKLOAD), "--db", db, "--synchronous", synchronous]
    argv += ["--lengths", ",".join(map(str, LENGTHS)), "--runs", str(runs)]
    argv += ["--in-flight", str(IN_FLIGHT), "--schema", PG_SCHEMA]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=1200)
    if done.returncode != 0:
        raise RuntimeError(f"DBOS workload failed: {done.stderr[-2000:]}")
    data: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return data


def _smithers(db: str, runs: int) -> dict[str, Any]:
    found = scaling.child(db, {"sequence": LENGTHS}, (runs, IN_FLIGHT) if runs else None)
    return {"by_length_ms": found["sequence"], "runs_per_s": found.get("runs_per_s")}


def _databases(tmp: Path, index: int) -> dict[str, tuple[str, str, str]]:
    """Name → (Smithers URL, DBOS URL, synchronous) for one round (fresh SQLite files)."""
    out = {
        "SQLite WAL+NORMAL": (
            str(tmp / f"s-normal-{index}.db"),
            f"sqlite:///{tmp / f'd-normal-{index}.db'}",
            "normal",
        ),
        "SQLite WAL+FULL": (
            f"sqlite:///{tmp / f's-full-{index}.db'}?synchronous=full",
            f"sqlite:///{tmp / f'd-full-{index}.db'}",
            "full",
        ),
    }
    pg = postgres_url()
    if pg is not None:
        out["PostgreSQL"] = (pg, pg, "normal")
    return out


def run(budget: Budget) -> Result:
    """Alternating fresh-process rounds of both engines on every database."""
    result = Result("peers", "Smithers and DBOS Transact 3.4: the same durable workloads")
    python = ensure_dbos()
    rounds: list[dict[str, dict[str, Any]]] = []
    for index in range(budget.scaling_processes):
        with tempfile.TemporaryDirectory() as tmp:
            measured: dict[str, dict[str, Any]] = {}
            for name, (ours, theirs, sync) in _databases(Path(tmp), index).items():
                runs = RUNS if name == "PostgreSQL" else 0
                order = ["smithers", "dbos"] if index % 2 == 0 else ["dbos", "smithers"]
                for engine in order:
                    measured[f"{name}/{engine}"] = (
                        _smithers(ours, runs)
                        if engine == "smithers"
                        else _dbos(python, theirs, sync, runs)
                    )
            rounds.append(measured)
    result.headers = ["database", "workload", "Smithers", "DBOS", "Smithers ÷ DBOS"]
    data: dict[str, Any] = {}
    for name, factor in TARGETS.items():
        if f"{name}/smithers" not in rounds[0]:
            result.notes.append(f"{name}: not measured (PostgreSQL did not answer).")
            continue

        def median(engine: str, length: int, name: str = name) -> float:
            return summary([r[f"{name}/{engine}"]["by_length_ms"][str(length)] for r in rounds])[
                "median"
            ]

        for length in LENGTHS:
            ours, theirs = median("smithers", length), median("dbos", length)
            result.rows.append(
                [
                    name,
                    f"ms per step, {length} steps",
                    f"{ours:.3f}",
                    f"{theirs:.3f}",
                    f"{theirs / ours:.1f}x faster",
                ]
            )
            data[f"{name}/{length}"] = {"smithers_ms": ours, "dbos_ms": theirs}
        ours, theirs = median("smithers", STEPS), median("dbos", STEPS)
        result.targets.append(
            Target(
                name=f"(9) {name}: ms per durable step ({STEPS} steps) vs DBOS",
                measured=f"{ours:.3f} ms/step",
                ceiling=f"DBOS {theirs:.3f} ms/step",
                ratio=f"{theirs / ours:.1f}x faster",
                target=f"≥ {factor:g}x DBOS"
                + (f", ≤ {PG_MAX_MS:g} ms" if name == "PostgreSQL" else ""),
                met=theirs / ours >= factor and (name != "PostgreSQL" or ours <= PG_MAX_MS),
            )
        )
        if name == "PostgreSQL":
            ours_rps = summary([r[f"{name}/smithers"]["runs_per_s"] for r in rounds])["median"]
            theirs_rps = summary([r[f"{name}/dbos"]["runs_per_s"] for r in rounds])["median"]
            result.rows.append(
                [
                    name,
                    f"one-step runs/s, {IN_FLIGHT} in flight",
                    f"{ours_rps:.0f}",
                    f"{theirs_rps:.0f}",
                    f"{ours_rps / theirs_rps:.1f}x",
                ]
            )
            result.targets.append(
                Target(
                    name=f"(9) {name}: one-step runs/s, {IN_FLIGHT} in flight, vs DBOS",
                    measured=f"{ours_rps:.0f} runs/s",
                    ceiling=f"DBOS {theirs_rps:.0f} runs/s",
                    ratio=f"{ours_rps / theirs_rps:.1f}x",
                    target=f"≥ {factor:g}x DBOS",
                    met=ours_rps / theirs_rps >= factor,
                )
            )
            data[f"{name}/runs_per_s"] = {"smithers": ours_rps, "dbos": theirs_rps}
    result.notes += [
        f"{budget.scaling_processes} rounds; each engine runs in a fresh process per database "
        "and round, the first one alternating; cells are medians over rounds.",
        "SQLite: both on WAL with the same synchronous level (Smithers through "
        "`?synchronous=full`, DBOS through a connect hook setting the pragmas). PostgreSQL: "
        f"the same server and database (DBOS in schema {PG_SCHEMA}), its default settings.",
        f"One-step runs: {RUNS} runs of a one-task workflow, {IN_FLIGHT} in flight at a time.",
    ]
    result.data = {"medians": data, "rounds": rounds}
    return result
