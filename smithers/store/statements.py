"""The statements that write a batch's rows, built once per table and set of columns.

``KINDS`` is the one list of what a batch writes: each row type of ``smithers.store.rows``,
the table it goes to and how, in the order a commit applies them. Rows of one table that
carry the same columns share one statement, executed with many parameter sets; the
statements are cached for the life of the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Literal

import msgspec
from sqlalchemy import Table, and_, bindparam, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import ClauseElement

from smithers.store import schema as s
from smithers.store.batch import TypedOutput, Written
from smithers.store.db import Statement
from smithers.store.outputs import KEY_COLUMNS
from smithers.store.rows import (
    ApprovalRow,
    AttemptRow,
    AttemptUpdate,
    EventRow,
    FrameRow,
    LoopRow,
    NodeRow,
    OutputRow,
    OutputSchemasRow,
    RunRow,
    RunUpdate,
    SignalRow,
    ToolCallRow,
    ToolCallUpdate,
    TranscriptRow,
)

__all__ = ["KINDS", "BatchStatements", "Kind", "Op", "Write", "writes"]

Op = Literal["insert", "update", "upsert"]


@dataclass(frozen=True, slots=True)
class Kind:
    """Where the rows of one type go, and how a batch writes them."""

    order: int
    table: Table | None
    """``None``: each row names its table (a typed output)."""
    op: Op
    keys: tuple[str, ...]
    """The primary key: what an update matches, an upsert conflicts on, a fold compares."""
    cols: tuple[str, ...] | None
    """The columns of every row of the type, sorted (``None``: each row says its own)."""
    values: Callable[[Any], dict[str, Any]]
    """A row's columns and values (an update's ``UNSET`` fields left out)."""
    key_of: Callable[[dict[str, Any]], Any]


def _kinds(*kinds: tuple[type[Any], Table | None, Op]) -> dict[type[Any], Kind]:
    found = {}
    for order, (row_type, table, op) in enumerate(kinds):
        keys = KEY_COLUMNS if table is None else tuple(c.name for c in table.primary_key)
        whole = table is not None and op != "update"
        found[row_type] = Kind(
            order,
            table,
            op,
            keys,
            tuple(sorted(row_type.__struct_fields__)) if whole else None,
            msgspec.structs.asdict if whole else msgspec.to_builtins,
            itemgetter(*keys),
        )
    return found


KINDS = _kinds(
    (RunRow, s.runs, "insert"),
    (RunUpdate, s.runs, "update"),
    (AttemptRow, s.attempts, "insert"),
    (AttemptUpdate, s.attempts, "update"),
    (NodeRow, s.nodes, "upsert"),
    (ApprovalRow, s.approvals, "upsert"),
    (LoopRow, s.loops, "upsert"),
    (OutputRow, s.outputs, "upsert"),
    (TypedOutput, None, "upsert"),
    (SignalRow, s.signals, "insert"),
    (ToolCallRow, s.tool_calls, "insert"),
    (ToolCallUpdate, s.tool_calls, "update"),
    (TranscriptRow, s.transcripts, "insert"),
    (FrameRow, s.frames, "insert"),
    (OutputSchemasRow, s.output_schemas, "upsert"),
    (EventRow, s.events, "insert"),
)
"""Every row type a batch writes, its table and operation, in the order a commit applies
them (a run's row first, as ``create_run`` inserts it; a batch's events go last)."""


@dataclass(frozen=True, slots=True)
class Write:
    """Rows of one table with the same columns, and how they are written."""

    op: Op
    table: Table
    cols: tuple[str, ...]
    rows: list[dict[str, Any]]
    keys: tuple[str, ...]
    """The primary key: what an update matches and an upsert conflicts on."""
    ignore: bool = False
    """An upsert that skips a row whose key exists instead of updating it."""


def writes(rows: Sequence[Written], *, op: Op | None = None, ignore: bool = False) -> list[Write]:
    """``rows`` grouped into writes, in the order they are applied: by type (``KINDS``), then
    by set of columns, each in the order given. ``op`` (with ``ignore``) overrides how every
    row is written.

    An update or upsert of a row that ``rows`` already write is folded into that row: the
    result is the one of writing them in turn (inserts and upserts of a table come before its
    updates, and no table is both upserted and updated), with one row per key, which is what
    lets PostgreSQL write the batch as one statement (``postgres_commit``).
    """
    try:
        ordered = sorted([(KINDS[type(r)].order, i, r) for i, r in enumerate(rows)])
    except KeyError:
        unknown = next(r for r in rows if type(r) not in KINDS)
        raise TypeError(f"a batch does not write {type(unknown).__name__} rows") from None
    groups: dict[tuple[Any, ...], Write] = {}
    written: dict[tuple[int, Any], dict[str, Any]] = {}
    regroup = False
    for _, _, row in ordered:
        kind = KINDS[type(row)]
        table, cols = kind.table, kind.cols
        if table is None:
            assert isinstance(row, TypedOutput)
            table, values = row.table.table, dict(row.values)
        else:
            values = kind.values(row)
        row_op = op or kind.op
        key = (id(table), kind.key_of(values))
        if row_op != "insert":
            prior = written.get(key)
            if prior is not None:
                regroup = regroup or not values.keys() <= prior.keys()
                prior.update(values)
                continue
        written[key] = values
        if cols is None:
            cols = tuple(sorted(values))
            where: tuple[Any, ...] = (id(table), row_op, cols)
        else:
            where = (kind.order, row_op)  # a whole row: the type's columns
        group = groups.get(where)
        if group is None:
            group = groups[where] = Write(row_op, table, cols, [], kind.keys, ignore)
        group.rows.append(values)
    return _regrouped(groups.values()) if regroup else list(groups.values())


def _regrouped(grouped: Iterable[Write]) -> list[Write]:
    """The rows of ``grouped`` grouped again, after folds gave some of them more columns."""
    groups: dict[tuple[int, Op, tuple[str, ...]], Write] = {}
    for w in grouped:
        for values in w.rows:
            cols = tuple(sorted(values))
            group = groups.get((id(w.table), w.op, cols))
            if group is None:
                group = groups[(id(w.table), w.op, cols)] = Write(
                    w.op, w.table, cols, [], w.keys, w.ignore
                )
            group.rows.append(values)
    return list(groups.values())


class BatchStatements:
    """Insert, update and upsert statements for one dialect, cached."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self._cache: dict[Any, ClauseElement] = {}

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
