"""A mirror copy names its run's database without the password; opening it again finds the
password in the workflow's own ``db=`` (or leaves it to the environment)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from smithers.engine import events as ev
from smithers.engine.owning import usable_url
from smithers.engine.run_loop import now_ms
from smithers.store.batch import Batch
from smithers.store.rows import RunRow
from smithers.store.store import Store
from smithers.store.urls import database_identity
from tests.helpers import Harness

SECRET = "s3cr3t-PASSWORD"
PINNED = f"postgresql://ann:{SECRET}@db.example:5432/app?schema=runs"
STORED = database_identity(PINNED)


def _pinning(db: str) -> str:
    return f"""
        from smithers import workflow, Task
        @workflow("pinned", db={db!r})
        def build(ctx):
            return Task("a", value=1)
    """


async def test_the_workflows_own_db_supplies_the_password(write_workflow) -> None:  # type: ignore[no-untyped-def]
    path = write_workflow(_pinning(PINNED))
    assert SECRET not in STORED
    assert await usable_url(STORED, str(path)) == PINNED


async def test_a_workflow_pinning_another_database_is_not_used(write_workflow) -> None:  # type: ignore[no-untyped-def]
    path = write_workflow(_pinning(PINNED.replace("schema=runs", "schema=other")))
    assert await usable_url(STORED, str(path)) == STORED


async def test_without_the_workflow_the_stored_url_is_opened(write_workflow, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The environment (PGPASSWORD, ~/.pgpass) then supplies the password."""
    assert await usable_url(STORED, None) == STORED
    assert await usable_url(STORED, str(tmp_path / "gone.py")) == STORED


async def test_a_workflow_that_fails_to_load_is_logged_without_its_message(
    write_workflow, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    path = write_workflow(f"raise RuntimeError('cannot reach {PINNED}')\n")
    with caplog.at_level(logging.WARNING):
        assert await usable_url(STORED, str(path)) == STORED
    assert "cannot be loaded" in caplog.text
    assert SECRET not in caplog.text


async def _orphaned_run(store: Store, run_id: str, created_at_ms: int, **row: object) -> None:
    """A ``running`` run no process owns: the next recovery scan claims it."""
    fields: dict[str, Any] = {"input_json": "{}", **row}
    await store.create_run(
        RunRow(
            run_id=run_id,
            workflow_name="pinned",
            status="running",
            created_at_ms=created_at_ms,
            **fields,
        ),
        Batch(events=[ev.RunStarted(run_id=run_id, timestamp_ms=created_at_ms)]),
    )


async def test_a_mirror_copy_whose_database_cannot_be_opened_does_not_stop_recovery(
    sqlite_url: str, write_workflow, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    """Without its password (the workflow file is gone, no PGPASSWORD) or with its server
    down, a mirrored run's database does not open: the scan goes on to the other runs."""
    path = write_workflow(_pinning("own.db"))
    unreachable = "postgresql+asyncpg://ann@127.0.0.1:1/app"  # nothing listens on port 1
    now = now_ms()
    async with Store.opened(sqlite_url) as store:
        await _orphaned_run(
            store,
            "mirror-copy",
            now - 1000,  # older: scanned first
            workflow_path=str(tmp_path / "gone.py"),
            config_json=json.dumps({"rootDir": str(tmp_path), "dbUrl": unreachable}),
        )
        await _orphaned_run(store, "orphan", now, workflow_path=str(path))
    with caplog.at_level(logging.WARNING):
        async with Harness(sqlite_url, auto_wake=True, recovery_interval=0.05) as h:
            deadline = time.monotonic() + 15
            while await h.status("orphan") != "finished":
                assert time.monotonic() < deadline, "the scan never reached the orphaned run"
                await asyncio.sleep(0.05)
            assert await h.status("mirror-copy") == "running"
    opening = [r.getMessage() for r in caplog.records if "mirror-copy" in r.getMessage()]
    assert len(opening) == 1, opening  # said once, then left alone for a while
    assert "127.0.0.1:1/app" in opening[0] and "cannot be opened" in opening[0]
