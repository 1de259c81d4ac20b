"""The statements that write a batch's rows, built once per table and set of columns.

Rows of one table that carry the same columns share one statement, executed with many
parameter sets; the statements are cached for the life of the store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Table, and_, bindparam, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import ClauseElement

from smithers.store import schema as s
from smithers.store.batch import Batch
from smithers.store.db import Statement

__all__ = ["KEYS", "BatchStatements", "Write"]

KEYS: dict[str, tuple[str, ...]] = {
    s.nodes.name: ("run_id", "node_id", "iteration"),
    s.attempts.name: ("run_id", "node_id", "iteration", "attempt"),
    s.approvals.name: ("run_id", "node_id", "iteration"),
    s.loops.name: ("run_id", "ralph_id"),
    s.outputs.name: ("run_id", "node_id", "iteration"),
    s.runs.name: ("run_id",),
    s.frames.name: ("run_id", "frame_no"),
    s.signals.name: ("run_id", "seq"),
    s.tool_calls.name: ("run_id", "node_id", "iteration", "attempt", "call_id"),
    s.transcripts.name: ("run_id", "node_id", "iteration", "attempt", "turn"),
    s.output_schemas.name: ("run_id",),
}
"""Each internal table's primary key: what an update matches and an upsert conflicts on."""


@dataclass(frozen=True, slots=True)
class Write:
    """Rows of one table with the same columns, and how they are written."""

    op: Literal["insert", "update", "upsert"]
    table: Table
    cols: tuple[str, ...]
    rows: list[dict[str, Any]]
    keys: tuple[str, ...]
    """The primary key: what an update matches and an upsert conflicts on."""
    ignore: bool = False
    """An upsert that skips a row whose key exists instead of updating it."""


class BatchStatements:
    """Insert, update and upsert statements for one dialect, cached."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self._cache: dict[Any, ClauseElement] = {}

    def of_batch(self, run_id: str, batch: Batch) -> list[Statement]:
        """The statements that write ``batch``'s rows (its events are written separately)."""
        return [self.statement(w) for w in self.writes(run_id, batch)]

    def writes(self, run_id: str, batch: Batch) -> list[Write]:
        """``batch``'s rows grouped into writes, in the order they are applied."""
        out: list[Write] = []
        if batch.run_update:
            out += _writes("update", s.runs, [dict(batch.run_update, run_id=run_id)])
        if batch.attempt_inserts:
            out += _writes("insert", s.attempts, batch.attempt_inserts)
        if batch.attempt_updates:
            out += _writes("update", s.attempts, batch.attempt_updates)
        if batch.node_upserts:
            out += _writes("upsert", s.nodes, batch.node_upserts)
        if batch.approval_upserts:
            out += _writes("upsert", s.approvals, batch.approval_upserts)
        if batch.loop_upserts:
            out += _writes("upsert", s.loops, batch.loop_upserts)
        if batch.untyped_outputs:
            out += _writes("upsert", s.outputs, batch.untyped_outputs)
        for table, row in batch.typed_outputs:
            out += _writes("upsert", table.table, [row], keys=_OUTPUT_KEYS)
        if batch.signal_inserts:
            out += _writes("insert", s.signals, batch.signal_inserts)
        if batch.tool_call_inserts:
            out += _writes("insert", s.tool_calls, batch.tool_call_inserts)
        if batch.tool_call_updates:
            out += _writes("update", s.tool_calls, batch.tool_call_updates)
        if batch.transcript_inserts:
            out += _writes("insert", s.transcripts, batch.transcript_inserts)
        if batch.frame is not None:
            out += _writes("insert", s.frames, [batch.frame])
        if batch.output_schemas is not None:
            out += _writes("upsert", s.output_schemas, [batch.output_schemas])
        return out

    def statement(self, write: Write) -> Statement:
        """The SQLAlchemy statement of ``write`` and its parameter sets."""
        if write.op == "insert":
            return self._insert(write), write.rows
        if write.op == "update":
            values = tuple(c for c in write.cols if c not in write.keys)
            params = [
                {**{f"k_{k}": r[k] for k in write.keys}, **{f"v_{c}": r[c] for c in values}}
                for r in write.rows
            ]
            return self._update(write, values), params
        return self._upsert(write), write.rows

    def _cached(self, key: Any, build: Callable[[], ClauseElement]) -> ClauseElement:
        stmt = self._cache.get(key)
        if stmt is None:
            stmt = self._cache[key] = build()
        return stmt

    def _insert(self, w: Write) -> ClauseElement:
        def build() -> ClauseElement:
            return insert(w.table).values({c: bindparam(c) for c in w.cols})

        return self._cached(("insert", w.table.name, id(w.table), w.cols), build)

    def _update(self, w: Write, values: tuple[str, ...]) -> ClauseElement:
        def build() -> ClauseElement:
            table = w.table
            where = and_(*(table.c[k] == bindparam(f"k_{k}") for k in w.keys))
            return update(table).where(where).values({c: bindparam(f"v_{c}") for c in values})

        return self._cached(("update", w.table.name, id(w.table), w.cols), build)

    def _upsert(self, w: Write) -> ClauseElement:
        def build() -> ClauseElement:
            dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
            stmt = dialect_insert(w.table).values({c: bindparam(c) for c in w.cols})
            changes = {c: stmt.excluded[c] for c in w.cols if c not in w.keys}
            if not changes or w.ignore:
                return stmt.on_conflict_do_nothing(index_elements=list(w.keys))
            return stmt.on_conflict_do_update(index_elements=list(w.keys), set_=changes)

        return self._cached(("upsert", w.table.name, id(w.table), w.cols, w.ignore), build)

    @staticmethod
    def writes_of(
        op: Literal["insert", "update", "upsert"], table: Table, rows: Sequence[dict[str, Any]]
    ) -> list[Write]:
        """``rows`` of ``table`` as writes (one per set of columns)."""
        return _writes(op, table, rows)

    def inserts(self, table: Table, rows: Sequence[dict[str, Any]]) -> list[Statement]:
        """Insert statements for ``rows``."""
        return [self.statement(w) for w in _writes("insert", table, rows)]

    def upserts(
        self,
        table: Table,
        rows: Sequence[dict[str, Any]],
        keys: tuple[str, ...] | None = None,
        *,
        ignore: bool = False,
    ) -> list[Statement]:
        """Insert-or-update (or, with ``ignore``, insert-or-skip) statements."""
        return [self.statement(w) for w in _writes("upsert", table, rows, keys, ignore=ignore)]


_OUTPUT_KEYS = ("run_id", "node_id", "iteration")


def _writes(
    op: Literal["insert", "update", "upsert"],
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: tuple[str, ...] | None = None,
    *,
    ignore: bool = False,
) -> list[Write]:
    keys = keys or KEYS[table.name]
    return [
        Write(op, table, cols, group, keys, ignore)
        for cols, group in _group_by_columns(rows).items()
    ]


def _group_by_columns(
    rows: Sequence[dict[str, Any]],
) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    return groups
