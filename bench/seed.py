"""Fill a Smithers SQLite file with finished runs and their events, by bulk SQL inserts.

The schema comes from Smithers itself (``Store.ensure_schema``); rows go in with plain
``sqlite3`` ``executemany`` in one transaction. Besides the bulk runs (``events_per_run``
events each) there is one finished run, ``REPLAY_RUN``, with ``REPLAY_EVENTS`` events to replay.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPLAY_RUN = "smi_benchreplay000000000000000"
REPLAY_EVENTS = 1000
BASE_MS = 1_700_000_000_000
_CYCLE = ("NodePending", "NodeStarted", "NodeFinished")


async def _schema(path: Path) -> None:
    from smithers.store.store import Store

    store = Store.open(str(path))
    try:
        await store.ensure_schema()
    finally:
        await store.close()


def _run_id(index: int) -> str:
    return f"smi_seed{index:022d}"


def _run_row(run_id: str, created: int) -> tuple[Any, ...]:
    return (
        run_id,
        "bench-seeded",
        "/bench/seeded.py",
        "0" * 64,
        "finished",
        created,
        created,
        created + 40,
        None,
        "{}",
        "{}",
        created + 40,
    )


def _event(run_id: str, seq: int, last: int, stamp: int) -> tuple[Any, ...]:
    if seq == 0:
        kind, extra = "RunStarted", {}
    elif seq == last:
        kind, extra = "RunFinished", {}
    elif seq == 1:
        kind, extra = "FrameCommitted", {"frameNo": 1, "xmlHash": "ab" * 32}
    else:
        kind = _CYCLE[(seq - 2) % 3]
        extra = {"nodeId": f"step{(seq - 2) // 3:04d}", "iteration": 0}
        if kind != "NodePending":
            extra["attempt"] = 1
    payload = {"type": kind, "runId": run_id, "timestampMs": stamp, **extra}
    return (run_id, seq, stamp, kind, json.dumps(payload, separators=(",", ":")))


def _events(runs: int, per_run: int) -> Iterator[tuple[Any, ...]]:
    for index in range(runs):
        run_id = _run_id(index)
        created = BASE_MS + index * 10
        for seq in range(per_run):
            yield _event(run_id, seq, per_run - 1, created + seq)
    created = BASE_MS + runs * 10
    for seq in range(REPLAY_EVENTS):
        yield _event(REPLAY_RUN, seq, REPLAY_EVENTS - 1, created + seq)


def seed(path: Path, runs: int, events: int) -> dict[str, Any]:
    """Create ``path`` with ``runs`` finished runs sharing ``events`` events (plus the replay run)."""
    started = time.perf_counter()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    asyncio.run(_schema(path))
    per_run = max(2, events // max(1, runs))
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("BEGIN")
        columns = (
            "run_id, workflow_name, workflow_path, workflow_hash, status, created_at_ms, "
            "started_at_ms, finished_at_ms, heartbeat_at_ms, config_json, input_json, "
            "updated_at_ms"
        )
        rows = (_run_row(_run_id(i), BASE_MS + i * 10) for i in range(runs))
        conn.executemany(
            f"INSERT INTO _smithers_runs ({columns}) VALUES ({', '.join('?' * 12)})", rows
        )
        conn.execute(
            f"INSERT INTO _smithers_runs ({columns}) VALUES ({', '.join('?' * 12)})",
            _run_row(REPLAY_RUN, BASE_MS + runs * 10),
        )
        conn.executemany(
            "INSERT INTO _smithers_nodes (run_id, node_id, iteration, state, last_attempt, "
            "updated_at_ms, output_table) VALUES (?, 'step0000', 0, 'finished', 1, ?, "
            "'_smithers_outputs')",
            ((_run_id(i), BASE_MS + i * 10) for i in range(runs)),
        )
        conn.executemany(
            "INSERT INTO _smithers_events (run_id, seq, timestamp_ms, type, payload_json) "
            "VALUES (?, ?, ?, ?, ?)",
            _events(runs, per_run),
        )
        conn.execute("COMMIT")  # no ANALYZE: a database grown by Smithers has no statistics
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        counts = {
            "runs": conn.execute("SELECT count(*) FROM _smithers_runs").fetchone()[0],
            "events": conn.execute("SELECT count(*) FROM _smithers_events").fetchone()[0],
        }
    finally:
        conn.close()
    return {
        **counts,
        "bytes": path.stat().st_size,
        "seconds": time.perf_counter() - started,
    }
