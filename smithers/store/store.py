"""Store: the only place with SQL. Small typed async methods; one transaction per state change.

Writes go through ``commit``: a guard row read first (locked ``FOR UPDATE`` on PostgreSQL;
SQLite writers are serialised by ``BEGIN IMMEDIATE``), expectations checked (owner, CAS on run
columns, no event appended meanwhile), then the rows, then the events with dense per-run
``seq`` numbers, then the commit. Listeners hear about committed events right after.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy import bindparam, insert, select

from smithers.errors import OwnershipLost, RunAlreadyExists, RunNotFound
from smithers.store import queries as q
from smithers.store import schema as s
from smithers.store.batch import Batch, StoredEvent
from smithers.store.connect import open_database
from smithers.store.db import Database, Guard, Prepared, Refused, Row
from smithers.store.outputs import OutputTable
from smithers.store.ownership import Ownership
from smithers.store.postgres_commit import GUARD_COLUMNS, OneStatement
from smithers.store.reads import Reads
from smithers.store.rows import ApprovalRow, EventRow, NodeRow, RunRow
from smithers.store.statements import BatchStatements, Write, writes
from smithers.store.urls import database_identity

__all__ = ["Commit", "ExpectationFailed", "Store"]

log = logging.getLogger(__name__)

CommitListener = Callable[[str, list[StoredEvent]], None]


class ExpectationFailed(Exception):
    """A compare-and-set lost: the run row no longer has the expected values."""

    def __init__(self, run: Row) -> None:
        self.run = run
        super().__init__(f"run {run.get('run_id')} changed meanwhile")


@dataclass(slots=True)
class Commit:
    """What a commit wrote: its events, and the run's last ``seq`` before them."""

    events: list[StoredEvent]
    prior_max_seq: int
    run: Row

    @property
    def last_seq(self) -> int:
        """The run's highest ``seq`` after this commit."""
        return self.events[-1].seq if self.events else self.prior_max_seq


_GUARD_COLUMNS = tuple(s.runs.c[name] for name in GUARD_COLUMNS)
_this_run = s.runs.c.run_id == bindparam("run_id")
_GUARD = select(*_GUARD_COLUMNS, q.MAX_SEQ_OF_EACH_RUN).where(_this_run)
_RUN_LOCKED = select(*_GUARD_COLUMNS).where(_this_run).with_for_update()
# PostgreSQL (READ COMMITTED): after waiting for the row lock, only the locked row is re-read;
# MAX(seq) must come from a later statement, which sees what the previous holder committed.
_GUARD_LOCKED = (_RUN_LOCKED, q.MAX_SEQ)

_INSERT_EVENTS = insert(s.events).values(
    run_id=bindparam("run_id"),
    seq=bindparam("seq"),
    timestamp_ms=bindparam("timestamp_ms"),
    type=bindparam("type"),
    payload_json=bindparam("payload_json"),
)


@dataclass(slots=True)
class _WritePlan:
    run_id: str
    writes: list[Write]
    event_rows: list[dict[str, Any]]
    """The events' rows; their ``seq`` is set by ``finish``."""
    prepared: list[Prepared] = field(default_factory=list)
    events: Prepared | None = None

    def prepare(self, db: Database, statements: BatchStatements) -> _WritePlan:
        """Prepare the statements of the transactional path (on the caller's thread)."""
        self.prepared = [db.prepare(*statements.statement(w)) for w in self.writes]
        self.events = db.prepare(_INSERT_EVENTS, self.event_rows) if self.event_rows else None
        return self

    def finish(self, guard: Row, result: list[Commit]) -> list[Prepared]:
        """Give the events the seqs after the guard's max (inside the transaction: cheap)."""
        prior = int(guard["max_seq"])
        stored = []
        # the prepared rows may be copies (``Database.prepare``): number the ones written
        for i, row in enumerate(self.event_rows if self.events is None else self.events.rows):
            row["seq"] = prior + i + 1
            stored.append(
                StoredEvent(
                    self.run_id, row["seq"], row["type"], row["timestamp_ms"], row["payload_json"]
                )
            )
        result.append(Commit(stored, prior, guard))
        return self.prepared if self.events is None else [*self.prepared, self.events]


class Store:
    """Typed persistence for runs, nodes, attempts, events, approvals, signals and outputs."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.identity = database_identity(db.url)
        """The database's URL without secrets: what may be stored, shown or compared."""
        self.reads = Reads(db)
        self.ownership = Ownership(db)
        """Heartbeats, polls and claimable runs, for a scheduler's maintenance."""
        self._listeners: list[CommitListener] = []
        self._schema_ready = False
        self._ensured_tables: set[str] = set()
        self._checked_tables: set[str] = set()
        self._statements = BatchStatements(db.dialect)
        self._one = OneStatement() if db.writes_alone else None

    @classmethod
    def open(cls, url: str) -> Store:
        """A store on the database at ``url`` (a path, ``sqlite:///…`` or ``postgresql://…``)."""
        return cls(open_database(url))

    @classmethod
    @asynccontextmanager
    async def opened(cls, url: str) -> AsyncIterator[Store]:
        """``open`` with the schema ensured, closed when the block ends."""
        store = cls.open(url)
        try:
            await store.ensure_schema()
            yield store
        finally:
            await store.close()

    @property
    def url(self) -> str:
        """The normalised database URL, password included: never store, show or log it."""
        return self.db.url

    def add_listener(self, listener: CommitListener) -> None:
        """Call ``listener(run_id, events)`` after every commit that wrote events."""
        self._listeners.append(listener)

    def remove_listener(self, listener: CommitListener) -> None:
        """Stop calling ``listener``."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    async def close(self) -> None:
        """Close the database connections."""
        await self.db.close()

    # --- schema ------------------------------------------------------------------------

    async def ensure_schema(self) -> None:
        """Create the internal tables and apply pending migrations (safe to call repeatedly)."""
        if self._schema_ready:
            return
        from smithers.store.migrate import apply_migrations

        await self.db.run_ddl(apply_migrations)
        self._schema_ready = True

    async def ensure_output_table(self, table: OutputTable, *, create: bool = True) -> None:
        """Create an output table (or only check an existing one) and add missing columns.

        Raises ``WorkflowLoadError`` when an existing column's type conflicts.
        """
        key = f"{table.name}:{id(table)}"
        if key in self._ensured_tables or (not create and key in self._checked_tables):
            return
        await self.db.run_ddl(lambda conn: table.ensure(conn, create=create))
        (self._ensured_tables if create else self._checked_tables).add(key)

    async def _ensure_batch_tables(self, batch: Batch) -> None:
        for table in batch.output_tables():
            await self.ensure_output_table(table)

    # --- writes ------------------------------------------------------------------------

    async def create_run(self, run: RunRow, batch: Batch) -> Commit:
        """Insert a new run row and commit ``batch`` with it; ``RunAlreadyExists`` if taken."""
        run_id = run.run_id
        await self._ensure_batch_tables(batch)
        result: list[Commit] = []
        plan = self._plan(run_id, batch, run)
        inserted = plan.writes[0]  # the run's row (RunRow comes first) with what folded into it
        created = {**inserted.rows[0], "max_seq": -1}
        if self._one is not None:
            done, found = await self._write_alone(
                self._one.creating(inserted, plan.writes[1:], plan.event_rows)
            )
            if done:
                if found is None:
                    raise RunAlreadyExists()
                return self._finish(plan, created)
        plan.prepare(self.db, self._statements)

        def build(guard: Row | None) -> list[Prepared]:
            if guard is not None:
                raise RunAlreadyExists()
            return plan.finish(created, result)

        await self.db.write(_GUARD, {"run_id": run_id}, build)
        self._notify(run_id, result[-1].events)
        return result[-1]

    async def commit(
        self,
        run_id: str,
        batch: Batch,
        *,
        owner: str | None = None,
        expect: Mapping[str, Any] | None = None,
        expect_max_seq: int | None = None,
    ) -> Commit:
        """Write ``batch`` in one transaction.

        ``owner``: the run must be owned by it (else ``OwnershipLost``). ``expect``: run columns
        that must hold exactly these values (else ``ExpectationFailed``). ``expect_max_seq``:
        no event may have been appended after it (else ``ExpectationFailed``).
        """
        await self._ensure_batch_tables(batch)
        result: list[Commit] = []
        plan = self._plan(run_id, batch)
        # A compare-and-set (expect, expect_max_seq) needs MAX(seq) read after the lock, and a
        # batch without events would not notice a stale one: those take the transaction.
        alone = expect is None and expect_max_seq is None and bool(plan.event_rows)
        if self._one is not None and owner is not None and alone:
            done, found = await self._write_alone(
                self._one.guarded(run_id, owner, plan.writes, plan.event_rows)
            )
            if done:
                if found is None:
                    raise RunNotFound(run_id)
                if not found["written"]:
                    raise OwnershipLost(run_id)
                guard = {c: found[c] for c in GUARD_COLUMNS}
                return self._finish(plan, dict(guard, max_seq=found["max_seq"]))
        plan.prepare(self.db, self._statements)

        def build(guard: Row | None) -> list[Prepared]:
            if guard is None:
                raise RunNotFound(run_id)
            if owner is not None and guard["runtime_owner_id"] != owner:
                raise OwnershipLost(run_id)
            if expect is not None and any(guard.get(k) != v for k, v in expect.items()):
                raise ExpectationFailed(guard)
            if expect_max_seq is not None and guard["max_seq"] != expect_max_seq:
                raise ExpectationFailed(guard)
            return plan.finish(guard, result)

        await self.db.write(self._guard_stmt, {"run_id": run_id}, build)
        self._notify(run_id, result[-1].events)
        return result[-1]

    async def transact(
        self, run_id: str, build: Callable[[Reads, Row], Awaitable[Batch | None]]
    ) -> Commit:
        """Read inside a write transaction, then commit what ``build(reads, run)`` returns.

        ``build`` sees the locked run row and may raise to abort without writing. For rare
        writes that must read first (decisions, signals); the run loop uses ``commit``.
        """
        result: list[Commit] = []
        async with self.db.transaction() as tx:
            guard = await tx.fetch_guard(self._guard_stmt, {"run_id": run_id})
            if guard is None:
                raise RunNotFound(run_id)
            batch = await build(Reads(tx), guard) or Batch()
            if batch.output_tables():
                raise ValueError("transact() does not write typed outputs; use commit()")
            plan = self._plan(run_id, batch).prepare(self.db, self._statements)
            for prepared in plan.finish(guard, result):
                await tx.execute_prepared(prepared)
        self._notify(run_id, result[-1].events)
        return result[-1]

    async def copy_run(
        self,
        run: RunRow,
        nodes: Sequence[NodeRow],
        approvals: Sequence[ApprovalRow],
        events: Sequence[EventRow],
    ) -> None:
        """Upsert a run's rows and insert its events (same seqs) — mirroring, idempotent."""
        out = writes([run, *nodes, *approvals], op="upsert")
        out += writes(events, op="upsert", ignore=True)
        prepared = [self.db.prepare(*self._statements.statement(w)) for w in out]
        await self.db.write(_GUARD, {"run_id": run.run_id}, lambda _: prepared)

    @property
    def _guard_stmt(self) -> Guard:
        return _GUARD_LOCKED if self.db.dialect == "postgresql" else _GUARD

    def _plan(self, run_id: str, batch: Batch, run: RunRow | None = None) -> _WritePlan:
        """Everything of a write built here, on the caller's thread; only seqs are left."""
        event_rows = [
            {
                "run_id": run_id,
                "seq": 0,  # set by finish()
                "timestamp_ms": ev.timestamp_ms,
                "type": ev.type,
                "payload_json": payload,
            }
            for ev, payload in zip(batch.events, _payloads(batch), strict=True)
        ]
        rows = batch.rows if run is None else [run, *batch.rows]
        return _WritePlan(run_id, writes(rows), event_rows)

    async def _write_alone(self, built: tuple[str, list[Any]] | None) -> tuple[bool, Row | None]:
        """(True, its row) once a one-statement write ran; (False, None): use a transaction."""
        if built is None:
            return False, None
        try:
            return True, await self.db.write_alone(*built)
        except Refused as exc:
            log.debug("one-statement write refused, writing in a transaction: %s", exc)
            return False, None

    def _finish(self, plan: _WritePlan, guard: Row) -> Commit:
        result: list[Commit] = []
        plan.finish(guard, result)
        self._notify(plan.run_id, result[-1].events)
        return result[-1]

    def _notify(self, run_id: str, events: list[StoredEvent]) -> None:
        if not events:
            return
        for listener in list(self._listeners):
            try:
                listener(run_id, events)
            except Exception:  # a broken listener must not undo a committed write
                log.exception("commit listener failed")


def _payloads(batch: Batch) -> list[str]:
    return [msgspec.json.encode(ev).decode() for ev in batch.events]
