"""PostgreSQL commits as one statement: same results as the transactional path, which takes
over for the batches one statement cannot write (tested on the real server)."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from smithers.engine.events import NodeOutput, RunStarted
from smithers.errors import OwnershipLost, RunAlreadyExists, RunNotFound
from smithers.store import schema as s
from smithers.store.batch import Batch, TypedOutput
from smithers.store.outputs import output_table_for
from smithers.store.postgres import PostgresDatabase
from smithers.store.postgres_commit import MAX_PARAMETERS, OneStatement
from smithers.store.rows import AttemptRow, AttemptUpdate, NodeRow, RunUpdate
from smithers.store.statements import writes
from smithers.store.store import Store
from tests.store.helpers import node_row, run_row


class Reserved(msgspec.Struct):
    order: int
    user: str
    tags: list[str]


def event(run_id: str, text: str) -> NodeOutput:
    return NodeOutput(run_id=run_id, timestamp_ms=2, node_id="n", iteration=0, attempt=1, text=text)


def attempt_row(run_id: str, state: str, started_at_ms: int) -> AttemptRow:
    return AttemptRow(
        run_id=run_id, node_id="n", iteration=0, attempt=1, state=state, started_at_ms=started_at_ms
    )


@pytest.fixture
async def store(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A store on PostgreSQL that counts the commits taking the transactional path."""
    transactions: list[int] = []
    write = PostgresDatabase.write

    async def counted(self: PostgresDatabase, *args: Any) -> None:
        transactions.append(1)
        await write(self, *args)

    monkeypatch.setattr(PostgresDatabase, "write", counted)
    async with Store.opened(pg_url) as opened:
        opened.transactions = transactions  # type: ignore[attr-defined]
        yield opened


async def test_a_step_is_one_statement_with_the_same_rows_and_seqs(store: Store) -> None:
    table = output_table_for(Reserved)
    await store.ensure_output_table(table)
    await store.create_run(run_row("r1"), Batch(events=[RunStarted(run_id="r1", timestamp_ms=1)]))
    batch = Batch(events=[event("r1", "a"), event("r1", "b")])
    batch.write(
        attempt_row("r1", "in-progress", started_at_ms=5),
        NodeRow(
            run_id="r1",
            node_id="n",
            iteration=0,
            state="in-progress",
            last_attempt=1,
            updated_at_ms=5,
            output_table=table.name,
            label=None,
        ),
        TypedOutput(table, table.encode_row("r1", "n", 0, Reserved(order=3, user="x", tags=["t"]))),
        RunUpdate(run_id="r1", heartbeat_at_ms=7),
    )
    commit = await store.commit("r1", batch, owner="me")
    assert [e.seq for e in commit.events] == [1, 2] and commit.prior_max_seq == 0
    assert store.transactions == []  # type: ignore[attr-defined]
    events = await store.reads.list_events("r1", -1, 10)
    assert [(e.seq, e.type) for e in events] == [
        (0, "RunStarted"),
        (1, "NodeOutput"),
        (2, "NodeOutput"),
    ]
    run = await store.reads.get_run("r1")
    assert run is not None and run.heartbeat_at_ms == 7
    rows = await store.db.fetch_all(table.table.select())
    assert [(r["order"], r["user"], r["tags"]) for r in rows] == [(3, "x", '["t"]')]
    nodes = await store.db.fetch_all(s.nodes.select())
    assert [(n["node_id"], n["state"]) for n in nodes if n["run_id"] == "r1"] == [
        ("n", "in-progress")
    ]


async def test_guards_answer_as_the_transaction_would(store: Store) -> None:
    await store.create_run(run_row("r1"), Batch(events=[RunStarted(run_id="r1", timestamp_ms=1)]))
    with pytest.raises(RunAlreadyExists):
        await store.create_run(
            run_row("r1"), Batch(events=[RunStarted(run_id="r1", timestamp_ms=1)])
        )
    with pytest.raises(OwnershipLost):
        await store.commit("r1", Batch(events=[event("r1", "x")]), owner="someone-else")
    with pytest.raises(RunNotFound):
        await store.commit("nope", Batch(events=[event("nope", "x")]), owner="me")
    assert store.transactions == []  # type: ignore[attr-defined]
    assert [e.seq for e in await store.reads.list_events("r1", -1, 10)] == [0]


async def test_a_row_written_twice_is_folded_into_one_statement(store: Store) -> None:
    """An attempt inserted and ended (a timer due at once) and a node written twice."""
    await store.create_run(run_row("r1"), Batch(events=[RunStarted(run_id="r1", timestamp_ms=1)]))
    batch = Batch(events=[event("r1", "x")])
    ended = AttemptUpdate(
        run_id="r1", node_id="n", iteration=0, attempt=1, state="finished", finished_at_ms=9
    )
    batch.write(ended, attempt_row("r1", "in-progress", started_at_ms=5))
    batch.write(node_row("r1", "n"), node_row("r1", "n", "finished"))
    await store.commit("r1", batch, owner="me")
    assert store.transactions == []  # type: ignore[attr-defined]
    rows = await store.db.fetch_all(s.attempts.select().where(s.attempts.c.run_id == "r1"))
    assert [(r["state"], r["started_at_ms"], r["finished_at_ms"]) for r in rows] == [
        ("finished", 5, 9)
    ]
    nodes = await store.db.fetch_all(s.nodes.select().where(s.nodes.c.run_id == "r1"))
    assert [n["state"] for n in nodes] == ["finished"]


async def test_a_writer_holding_the_lock_is_waited_for_and_its_seqs_kept(store: Store) -> None:
    """The statement's snapshot predates the other writer's events: the collision sends the
    commit to the transactional path, which reads MAX(seq) after the lock."""
    await store.create_run(run_row("r1"), Batch(events=[RunStarted(run_id="r1", timestamp_ms=1)]))

    async def other_writer(locked: asyncio.Event, release: asyncio.Event) -> None:
        async with store.db.transaction() as tx:
            await tx.fetch_all(s.runs.select().where(s.runs.c.run_id == "r1").with_for_update())
            await tx.execute(
                s.events.insert(),
                {"run_id": "r1", "seq": 1, "timestamp_ms": 1, "type": "X", "payload_json": "{}"},
            )
            locked.set()
            await release.wait()

    locked, release = asyncio.Event(), asyncio.Event()
    holder = asyncio.create_task(other_writer(locked, release))
    await locked.wait()
    commit = asyncio.create_task(store.commit("r1", Batch(events=[event("r1", "x")]), owner="me"))
    await asyncio.sleep(0.3)
    assert not commit.done()  # waiting for the run row's lock
    release.set()
    await holder
    assert [e.seq for e in (await commit).events] == [2]
    assert store.transactions == [1]  # type: ignore[attr-defined]
    assert [e.seq for e in await store.reads.list_events("r1", -1, 10)] == [0, 1, 2]


def test_batches_one_statement_cannot_carry() -> None:
    one = OneStatement()
    inserted_twice = writes([attempt_row("r", "in-progress", 1)] * 2)
    assert one.guarded("r", "me", inserted_twice, [{}]) is None
    many = writes([node_row("r", f"n{i}") for i in range(MAX_PARAMETERS // 8 + 1)])
    assert one.guarded("r", "me", many, []) is None
    small = writes([node_row("r", f"n{i}") for i in range(3)])
    built = one.guarded("r", "me", small, [])
    assert built is not None and built[1][:2] == ["r", "me"] and len(built[1]) == 2 + 3 * 9


async def test_a_connection_the_server_dropped_is_not_used(store: Store) -> None:
    """A restart or failover closes the pooled connections: the next commit opens a new one."""
    import asyncpg

    await store.create_run(run_row("r1"), Batch(events=[RunStarted(run_id="r1", timestamp_ms=1)]))
    await store.commit("r1", Batch(events=[event("r1", "a")]), owner="me")
    from tests.conftest import PG_URL

    admin = await asyncpg.connect(PG_URL)
    try:
        killed = await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    assert killed
    await asyncio.sleep(0.2)  # the server's goodbye reaches the idle sockets
    commit = await store.commit("r1", Batch(events=[event("r1", "b")]), owner="me")
    assert [e.seq for e in commit.events] == [2]
    assert store.transactions == []  # type: ignore[attr-defined]
