"""The storage ceiling: record the SQLite writes of real runs, then replay them with raw sqlite3.

``capture`` runs a workflow in-process (through the engine, like the server does) with every
SQLite connection recording what it executes; ``replay`` repeats the recorded write
transactions — same statements, same parameters, fresh run ids — on a plain ``sqlite3``
connection in WAL mode with ``synchronous=NORMAL``, which is as fast as those writes can go.

    python -m bench.write_profile WORKFLOW [--input JSON] [--runs N]   # prints the profile
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class Recorder:
    """Statements executed on recorded connections, grouped into write transactions."""

    def __init__(self) -> None:
        self.transactions: list[list[tuple[str, Any, bool]]] = []
        self.reads = 0
        self._open: dict[int, list[tuple[str, Any, bool]]] = {}

    def record(self, conn_id: int, sql: str, params: Any, many: bool) -> None:
        """One ``execute`` (``many`` False) or ``executemany`` call."""
        verb = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
        if verb == "BEGIN":
            self._open[conn_id] = []
        elif verb in ("COMMIT", "END"):
            tx = self._open.pop(conn_id, None)
            if tx:
                self.transactions.append(tx)
        elif verb == "ROLLBACK":
            self._open.pop(conn_id, None)
        elif verb in WRITES:
            stmt = (sql, params, many)
            if conn_id in self._open:
                self._open[conn_id].append(stmt)
            else:  # autocommit write
                self.transactions.append([stmt])
        elif verb in ("SELECT", "WITH"):
            self.reads += 1

    def take(self) -> tuple[list[list[tuple[str, Any, bool]]], int]:
        """The transactions and reads recorded so far, and start afresh."""
        out, reads = self.transactions, self.reads
        self.transactions, self.reads = [], 0
        return out, reads


@contextlib.contextmanager
def recording(recorder: Recorder) -> Iterator[None]:
    """While active, connections opened with ``sqlite3.connect`` report to ``recorder``."""

    class RecordingConnection(sqlite3.Connection):
        def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:  # type: ignore[override]
            recorder.record(id(self), sql, parameters, False)
            return super().execute(sql, parameters)

        def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:  # type: ignore[override]
            rows = [dict(p) if isinstance(p, dict) else tuple(p) for p in parameters]
            recorder.record(id(self), sql, rows, True)
            return super().executemany(sql, rows)

    original = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        kwargs.setdefault("factory", RecordingConnection)
        return original(*args, **kwargs)

    sqlite3.connect = connect  # type: ignore[assignment]
    try:
        yield
    finally:
        sqlite3.connect = original  # type: ignore[assignment]


def _row_writes(tx: Sequence[tuple[str, Any, bool]]) -> int:
    return sum(len(p) if many else 1 for _, p, many in tx)


async def _capture(workflow: Path, input: dict[str, Any], runs: int) -> dict[str, Any]:
    from smithers.authoring.loader import load_workflow
    from smithers.engine.ids import new_run_id
    from smithers.engine.scheduler import RunScheduler
    from smithers.store.store import Store

    recorder = Recorder()
    with tempfile.TemporaryDirectory() as tmp, recording(recorder):
        store = Store.open(str(Path(tmp) / "capture.db"))
        scheduler = RunScheduler()
        await scheduler.attach(store)
        await scheduler.start()
        loaded = load_workflow(workflow)
        try:
            captured: list[dict[str, Any]] = []
            for _ in range(runs):
                recorder.take()
                run_id = new_run_id()
                waiter = asyncio.create_task(scheduler.wait(run_id, ("finished", "failed")))
                await asyncio.sleep(0)
                await scheduler.start_run(store, loaded, input=input, run_id=run_id)
                outcome = await asyncio.wait_for(waiter, 60)
                txs, reads = recorder.take()
                captured.append(
                    {
                        "run_id": run_id,
                        "status": outcome.status,
                        "transactions": txs,
                        "reads": reads,
                    }
                )
            schema = [
                r[0]
                for r in sqlite3.connect(Path(tmp) / "capture.db").execute(
                    "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL "
                    "AND name NOT LIKE 'sqlite_%' ORDER BY type DESC"
                )
            ]
        finally:
            await scheduler.close()
            await store.close()
    last = captured[-1]  # the warmest run is the representative one
    txs = last["transactions"]
    return {
        "run_id": last["run_id"],
        "status": last["status"],
        "transactions": txs,
        "transactions_per_run": len(txs),
        "row_writes_per_run": sum(_row_writes(tx) for tx in txs),
        "statements_per_run": sum(len(tx) for tx in txs),
        "reads_per_run": last["reads"],
        "schema": schema,
    }


def capture(workflow: Path, input: dict[str, Any] | None = None, runs: int = 3) -> dict[str, Any]:
    """Run ``workflow`` ``runs`` times in a fresh process; the last run's write profile."""
    import subprocess

    from bench.system import REPO

    argv = [
        sys.executable,
        "-m",
        "bench.write_profile",
        str(workflow),
        "--input",
        json.dumps(input or {}),
        "--runs",
        str(runs),
    ]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"write capture failed: {done.stderr[-2000:]}")
    profile: dict[str, Any] = json.loads(done.stdout)
    if not profile["transactions"]:
        raise RuntimeError("no SQLite write transactions were recorded")
    return profile


def _renamed(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new) if old in value else value
    if isinstance(value, dict):
        return {k: _renamed(v, old, new) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_renamed(v, old, new) for v in value)
    return value


def prepare(profile: dict[str, Any], count: int) -> list[list[tuple[str, Any, bool]]]:
    """The write transactions of ``count`` runs, each with its own run id (built up front)."""
    old = profile["run_id"]
    out = []
    for index in range(count):
        new = f"{old[:-10]}{index:010d}"
        out += [
            [(sql, _renamed(params, old, new), many) for sql, params, many in tx]
            for tx in profile["transactions"]
        ]
    return out


def replay(profile: dict[str, Any], count: int, path: Path) -> float:
    """Seconds raw sqlite3 takes to commit the writes of ``count`` runs into a fresh ``path``."""
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        for ddl in profile["schema"]:
            conn.execute(ddl)
        work = prepare(profile, count)
        started = time.perf_counter()
        for tx in work:
            conn.execute("BEGIN IMMEDIATE")
            for sql, params, many in tx:
                if many:
                    conn.executemany(sql, params)
                else:
                    conn.execute(sql, params)
            conn.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def main() -> None:
    """Print the write profile of a workflow as JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.write_profile")
    parser.add_argument("workflow", type=Path)
    parser.add_argument("--input", default="{}")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    profile = asyncio.run(_capture(args.workflow, json.loads(args.input), args.runs))
    print(json.dumps(profile))


if __name__ == "__main__":
    main()
