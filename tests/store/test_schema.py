"""Schema creation and migrations."""

from __future__ import annotations

import asyncio
import json

import msgspec
import pytest
from sqlalchemy import text

from smithers.errors import WorkflowLoadError
from smithers.store.attempt_meta import (
    ApprovalMeta,
    SignalMeta,
    TaskMeta,
    TimerMeta,
    decode_meta,
    encode_meta,
)
from smithers.store.outputs import output_table_for, table_name_for
from smithers.store.schema import MIGRATIONS
from smithers.store.store import Store


def test_migration_versions_only_increase() -> None:
    versions = [m.version for m in MIGRATIONS]
    assert versions == sorted(set(versions)) and versions[0] == 1


async def test_schema_is_created_once_even_by_concurrent_stores(db_url: str) -> None:
    stores = [Store.open(db_url) for _ in range(3)]
    try:
        await asyncio.gather(*(s.ensure_schema() for s in stores))
        rows = await stores[0].db.fetch_all(text("SELECT version FROM _smithers_schema_version"))
        assert [r["version"] for r in rows] == [m.version for m in MIGRATIONS]
    finally:
        for s in stores:
            await s.close()


def test_table_names() -> None:
    class OutputA(msgspec.Struct):
        x: int

    class HTTPResult(msgspec.Struct):
        x: int

    class Named(msgspec.Struct):
        table = "custom_name"
        x: int

    assert table_name_for(OutputA) == "output_a"
    assert table_name_for(HTTPResult) == "http_result"
    assert table_name_for(Named) == "custom_name"


async def test_output_table_columns_added_and_conflicts_refused(db_url: str) -> None:
    class Report(msgspec.Struct):
        title: str
        pages: int

    class ReportV2(msgspec.Struct):
        table = "report"
        title: str
        pages: int
        score: float | None = None

    class ReportBad(msgspec.Struct):
        table = "report"
        title: int

    store = Store.open(db_url)
    try:
        await store.ensure_schema()
        await store.ensure_output_table(output_table_for(Report))
        await store.ensure_output_table(output_table_for(ReportV2))
        row = output_table_for(ReportV2).encode_row("r", "n", 0, ReportV2("t", 3, 0.5))
        assert row == {
            "run_id": "r",
            "node_id": "n",
            "iteration": 0,
            "title": "t",
            "pages": 3,
            "score": 0.5,
        }
        with pytest.raises(WorkflowLoadError, match=r"report\.title"):
            await store.ensure_output_table(output_table_for(ReportBad))
    finally:
        await store.close()


async def test_conflicting_output_table_fails_start_with_workflow_load_failed(
    sqlite_url: str, write_workflow
) -> None:
    from tests.helpers import Harness

    first = write_workflow(
        """
        import msgspec
        from smithers import workflow, Task
        class Score(msgspec.Struct):
            value: int
        @workflow("v1")
        def build(ctx):
            return Task("s", value=Score(1))
        """
    )
    changed = write_workflow(
        """
        import msgspec
        from smithers import workflow, Task
        class Score(msgspec.Struct):
            value: str
        @workflow("v2")
        def build(ctx):
            return Task("s", value=Score("high"))
        """
    )
    async with Harness(sqlite_url) as h:
        _, outcome = await h.run(first)
        assert outcome.status == "finished"
        with pytest.raises(WorkflowLoadError, match=r"score\.value"):
            await h.start(changed)


async def test_migration_2_takes_the_password_out_of_older_rows(db_url: str) -> None:
    """Rows an earlier version wrote keep no password once the database is opened again,
    whatever their run's status (a finished run is never claimed, so never rewritten)."""
    older = '{"maxConcurrency":null,"rootDir":"/srv","dbUrl":"postgresql+asyncpg://ann:s3cr3t@h/app?schema=runs&password=s3cr3t"}'
    clean = '{"maxConcurrency":2,"rootDir":"/srv","allowNetwork":false}'
    async with Store.opened(db_url) as store, store.db.transaction() as tx:
        for run_id, config in (("older", older), ("clean", clean), ("none", None)):
            await tx.execute(
                text(
                    "INSERT INTO _smithers_runs (run_id, workflow_name, status,"
                    " created_at_ms, config_json) VALUES (:run_id, 'w', 'finished', 1, :config)"
                ),
                {"run_id": run_id, "config": config},
            )
        # As if the database had only seen the migrations before this one.
        await tx.execute(text("DELETE FROM _smithers_schema_version WHERE version >= 2"))
    async with Store.opened(db_url) as store:
        stored = {
            r["run_id"]: r["config_json"]
            for r in await store.db.fetch_all(
                text("SELECT run_id, config_json FROM _smithers_runs")
            )
        }
        versions = await store.db.fetch_all(text("SELECT version FROM _smithers_schema_version"))
    assert msgspec.json.decode(stored["older"]) == {
        **msgspec.json.decode(older),
        "dbUrl": "postgresql+asyncpg://ann@h/app?schema=runs",
    }
    assert stored["clean"] == clean and stored["none"] is None
    assert [r["version"] for r in versions] == [m.version for m in MIGRATIONS]


def test_attempt_meta_keeps_the_column_format() -> None:
    """The tagged metadata reads the camelCase keys earlier versions wrote, and writes them."""
    old = '{"kind":"signal","signalName":"go","correlationId":null,"afterSignalSeq":3,'
    old += '"timeoutAtMs":null,"onTimeout":"skip"}'
    meta = decode_meta(old)
    assert meta == SignalMeta(signal_name="go", after_signal_seq=3, on_timeout="skip")
    assert json.loads(encode_meta(meta)) == {**json.loads(old), "resolvedSignalSeq": None}
    timer = decode_meta('{"kind":"timer","firesAtMs":5,"timerType":"absolute"}')
    assert timer == TimerMeta(fires_at_ms=5, timer_type="absolute")
    assert decode_meta('{"kind":"task","label":"L"}') == TaskMeta(label="L")
    assert decode_meta('{"kind":"approval"}') == ApprovalMeta()
    assert decode_meta(None) == TaskMeta()
    with pytest.raises(msgspec.ValidationError):
        decode_meta('{"kind":"timer"}')
