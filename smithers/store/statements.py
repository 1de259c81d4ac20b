"""The statements that write a batch's rows, built once per table and set of columns.

Rows of one table that carry the same columns share one statement, executed with many
parameter sets; the statements are cached for the life of the store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table, and_, bindparam, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import ClauseElement

from smithers.store import schema as s
from smithers.store.batch import Batch
from smithers.store.db import Statement

__all__ = ["KEYS", "BatchStatements"]

KEYS: dict[str, tuple[str, ...]] = {
    s.nodes.name: ("run_id", "node_id", "iteration"),
    s.attempts.name: ("run_id", "node_id", "iteration", "attempt"),
    s.approvals.name: ("run_id", "node_id", "iteration"),
    s.loops.name: ("run_id", "ralph_id"),
    s.outputs.name: ("run_id", "node_id", "iteration"),
    s.runs.name: ("run_id",),
    s.signals.name: ("run_id", "seq"),
    s.tool_calls.name: ("run_id", "node_id", "iteration", "attempt", "call_id"),
    s.transcripts.name: ("run_id", "node_id", "iteration", "attempt", "turn"),
}
"""Each internal table's primary key: what an update matches and an upsert conflicts on."""


class BatchStatements:
    """Insert, update and upsert statements for one dialect, cached."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self._cache: dict[Any, ClauseElement] = {}

    def of_batch(self, run_id: str, batch: Batch) -> list[Statement]:
        """The statements that write ``batch``'s rows (its events are written separately)."""
        out: list[Statement] = []
        if batch.run_update:
            out += self.updates(s.runs, [dict(batch.run_update, run_id=run_id)])
        if batch.attempt_inserts:
            out += self.inserts(s.attempts, batch.attempt_inserts)
        if batch.attempt_updates:
            out += self.updates(s.attempts, batch.attempt_updates)
        if batch.node_upserts:
            out += self.upserts(s.nodes, batch.node_upserts)
        if batch.approval_upserts:
            out += self.upserts(s.approvals, batch.approval_upserts)
        if batch.loop_upserts:
            out += self.upserts(s.loops, batch.loop_upserts)
        if batch.untyped_outputs:
            out += self.upserts(s.outputs, batch.untyped_outputs)
        for table, row in batch.typed_outputs:
            out += self.upserts(table.table, [row], keys=("run_id", "node_id", "iteration"))
        if batch.signal_inserts:
            out += self.inserts(s.signals, batch.signal_inserts)
        if batch.tool_call_inserts:
            out += self.inserts(s.tool_calls, batch.tool_call_inserts)
        if batch.tool_call_updates:
            out += self.updates(s.tool_calls, batch.tool_call_updates)
        if batch.transcript_inserts:
            out += self.inserts(s.transcripts, batch.transcript_inserts)
        if batch.frame is not None:
            out += self.inserts(s.frames, [batch.frame])
        return out

    def _cached(self, key: Any, build: Callable[[], ClauseElement]) -> ClauseElement:
        stmt = self._cache.get(key)
        if stmt is None:
            stmt = self._cache[key] = build()
        return stmt

    def inserts(self, table: Table, rows: Sequence[dict[str, Any]]) -> list[Statement]:
        out: list[Statement] = []
        for cols, group in _group_by_columns(rows).items():

            def build(cols: tuple[str, ...] = cols) -> ClauseElement:
                return insert(table).values({c: bindparam(c) for c in cols})

            stmt = self._cached(("insert", table.name, cols), build)
            out.append((stmt, group))
        return out

    def updates(self, table: Table, rows: Sequence[dict[str, Any]]) -> list[Statement]:
        keys = KEYS[table.name]
        out: list[Statement] = []
        for cols, group in _group_by_columns(rows).items():
            values = tuple(c for c in cols if c not in keys)

            def build(values: tuple[str, ...] = values) -> ClauseElement:
                where = and_(*(table.c[k] == bindparam(f"k_{k}") for k in keys))
                return update(table).where(where).values({c: bindparam(f"v_{c}") for c in values})

            stmt = self._cached(("update", table.name, cols), build)
            params = [
                {**{f"k_{k}": r[k] for k in keys}, **{f"v_{c}": r[c] for c in values}}
                for r in group
            ]
            out.append((stmt, params))
        return out

    def upserts(
        self,
        table: Table,
        rows: Sequence[dict[str, Any]],
        keys: tuple[str, ...] | None = None,
        *,
        ignore: bool = False,
    ) -> list[Statement]:
        """Insert-or-update (or, with ``ignore``, insert-or-skip) statements."""
        keys = keys or KEYS[table.name]
        out: list[Statement] = []
        for cols, group in _group_by_columns(rows).items():

            def build(cols: tuple[str, ...] = cols) -> ClauseElement:
                dialect_insert = (
                    postgresql.insert if self.dialect == "postgresql" else sqlite.insert
                )
                stmt = dialect_insert(table).values({c: bindparam(c) for c in cols})
                changes = {c: stmt.excluded[c] for c in cols if c not in keys}
                if not changes or ignore:
                    return stmt.on_conflict_do_nothing(index_elements=list(keys))
                return stmt.on_conflict_do_update(index_elements=list(keys), set_=changes)

            key = ("upsert", table.name, id(table), cols, ignore)
            out.append((self._cached(key, build), group))
        return out


def _group_by_columns(
    rows: Sequence[dict[str, Any]],
) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    return groups
