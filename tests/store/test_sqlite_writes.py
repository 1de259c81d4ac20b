"""SQLite write transactions on the event loop's connection: lock fallback and checkpoints."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from smithers.engine.events import RunStarted
from smithers.store.batch import Batch
from smithers.store.sqlite import SqliteDatabase
from smithers.store.sqlite_raw import CHECKPOINT_EVERY
from smithers.store.store import Store
from tests.store.helpers import run_row


def _batch(run_id: str) -> Batch:
    return Batch(events=[RunStarted(run_id=run_id, timestamp_ms=1)])


async def test_a_write_waits_while_another_connection_holds_the_lock(sqlite_url: str) -> None:
    async with Store.opened(sqlite_url) as store:
        assert isinstance(store.db, SqliteDatabase)
        holder = sqlite3.connect(store.db.path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another writer, as another process would be
        try:
            write = asyncio.create_task(
                store.create_run(run_row("r1", input_json="x" * 2000), _batch("r1"))
            )
            await asyncio.sleep(0.3)
            assert not write.done()  # it waits on the writer thread, the loop keeps running
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        await asyncio.wait_for(write, 5)
        row = await store.reads.get_run("r1")
        assert row is not None and row.status == "running"
        assert [e.seq for e in await store.reads.list_events("r1")] == [0]


async def test_the_wal_is_checkpointed_into_the_database_file(sqlite_url: str) -> None:
    async with Store.opened(sqlite_url) as store:
        assert isinstance(store.db, SqliteDatabase)
        path = Path(store.db.path)
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        empty = path.stat().st_size
        for i in range(CHECKPOINT_EVERY * 2 + 1):
            await store.create_run(run_row(f"r{i}", input_json="x" * 2000), _batch(f"r{i}"))
        checkpoint = store.db._checkpoint
        if checkpoint is not None:  # the last one started may still be running
            await checkpoint
        # only a checkpoint writes pages into the database file; commits append to the WAL
        assert path.stat().st_size > empty
        assert len(await store.reads.list_runs(limit=1000)) == CHECKPOINT_EVERY * 2 + 1


async def test_synchronous_full_commits_on_the_writer_thread_with_fsync(tmp_path: Path) -> None:
    """``?synchronous=full``: every connection runs FULL, and no commit runs on the loop."""
    url = f"sqlite:///{tmp_path / 'full.db'}?synchronous=full"
    async with Store.opened(url) as store:
        assert isinstance(store.db, SqliteDatabase) and store.db.full_sync
        for n in range(3):
            await store.create_run(run_row(f"r{n}"), _batch(f"r{n}"))
        writer = store.db._raw[id(await store.db._writer_conn())]
        assert writer.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
        assert store.db._here_writers == {}
        assert [r.run_id for r in await store.reads.list_runs(10)] == ["r2", "r1", "r0"]
        assert store.identity == f"sqlite+aiosqlite:///{tmp_path / 'full.db'}"
    async with Store.opened(str(tmp_path / "normal.db")) as store:
        await store.create_run(run_row("r"), _batch("r"))
        assert isinstance(store.db, SqliteDatabase) and not store.db.full_sync
        assert [
            c.execute("PRAGMA synchronous").fetchone() for c in store.db._here_writers.values()
        ] == [(1,)]
