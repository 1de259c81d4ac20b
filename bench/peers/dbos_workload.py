"""The peer workload on DBOS Transact, run by its own interpreter (see ``dbos_comparison``).

Standalone on purpose: it imports only ``dbos``, the SQLAlchemy DBOS brings, and the standard
library, so it runs in the virtual environment the comparison creates, never in the
project's. The same shapes ``bench.scaling`` measures on Smithers: a workflow of N durable
no-op steps (ms per step), and one-step workflows with 16 in flight (runs per second).
Prints one JSON line.

    python dbos_workload.py --db sqlite:///x.db --synchronous normal --lengths 50,800 --runs 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import sqlalchemy as sa
from dbos import DBOS, DBOSConfig


def _sqlite_pragmas(synchronous: str) -> None:
    """WAL with ``synchronous`` on every SQLite connection DBOS opens (like-for-like)."""

    @sa.event.listens_for(sa.engine.Engine, "connect")
    def pragmas(dbapi_conn: Any, record: Any) -> None:
        if type(dbapi_conn).__module__.startswith("sqlite3"):
            dbapi_conn.execute("PRAGMA journal_mode=WAL")
            dbapi_conn.execute(f"PRAGMA synchronous={synchronous.upper()}")


@DBOS.step()
async def noop() -> None:
    return None


@DBOS.workflow()
async def steps(count: int) -> int:
    for _ in range(count):
        await noop()
    return count


async def _per_step(count: int) -> float:
    started = time.perf_counter()
    handle = await DBOS.start_workflow_async(steps, count)
    if await handle.get_result() != count:
        raise RuntimeError("the workflow returned an unexpected result")
    return (time.perf_counter() - started) / count * 1000


async def _runs_per_second(runs: int, in_flight: int) -> float:
    gate = asyncio.Semaphore(in_flight)

    async def one() -> None:
        async with gate:
            handle = await DBOS.start_workflow_async(steps, 1)
            await handle.get_result()

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(runs)))
    return runs / (time.perf_counter() - started)


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    if args.db.startswith("sqlite"):
        _sqlite_pragmas(args.synchronous)
    config: DBOSConfig = {
        "name": "smithers-bench-peer",
        "system_database_url": args.db,
        "log_level": "WARNING",
    }
    if not args.db.startswith("sqlite"):
        config["dbos_system_schema"] = args.schema
    DBOS(config=config)
    DBOS.launch()
    try:
        await _per_step(20)  # warm-up
        by_length = {str(n): await _per_step(n) for n in args.lengths}
        rps = await _runs_per_second(args.runs, args.in_flight) if args.runs else None
    finally:
        DBOS.destroy()
    return {"by_length_ms": by_length, "runs_per_s": rps}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--synchronous", default="normal", choices=["normal", "full"])
    parser.add_argument("--lengths", type=lambda v: [int(x) for x in v.split(",") if x])
    parser.add_argument("--runs", type=int, default=0)
    parser.add_argument("--in-flight", type=int, default=16)
    parser.add_argument("--schema", default="dbos", help="PostgreSQL schema of DBOS's tables")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(_main(args))))


if __name__ == "__main__":
    main()
